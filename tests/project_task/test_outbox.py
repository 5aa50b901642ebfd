"""Events go through the outbox in the same transaction as the change: a committed change
has its event row, a rolled-back change has neither row nor event."""

from __future__ import annotations

import json

from sqlalchemy import select

from scripts.toolkit.waiting import wait_for
from services.common import events
from services.project_task.models import OutboxEvent, Project, Task
from services.project_task.tasks import rules


def test_the_event_row_commits_with_the_change(client, factory, people, database):
    project = factory.team()
    task = factory.task(project, title="Committed")
    with database() as session:
        [row] = session.scalars(select(OutboxEvent).where(OutboxEvent.type == "task.created"))
        assert row.payload["entity"] == {"type": "task", "id": task["id"]}
        assert row.event_id == row.payload["event_id"]
        assert session.get(Task, task["id"]).title == "Committed"


def _record_then_fail(*args, **kwargs):
    """record_event, then a failure before the commit (the row is in the session)."""
    events.record_event(*args, **kwargs)
    raise RuntimeError("the request failed after recording its event")


def test_no_event_and_no_change_when_the_transaction_rolls_back(
    client, factory, people, count_rows, outbox, monkeypatch
):
    project = factory.team()
    events_before = outbox()
    monkeypatch.setattr(rules, "record_event", _record_then_fail)
    response = client.post(
        f"/api/projects/{project['id']}/tasks",
        json={"title": "Doomed"},
        headers=people.member.headers,
    )
    assert response.status_code == 500 and response.json["code"] == "internal_error"
    assert count_rows(Task) == 0
    assert outbox() == events_before
    assert count_rows(Project) == 1


def test_no_event_when_an_update_rolls_back(client, factory, people, outbox, monkeypatch):
    project = factory.team()
    task = factory.task(project, title="Original")
    events_before = outbox()
    monkeypatch.setattr(rules, "record_event", _record_then_fail)
    response = client.patch(
        f"/api/tasks/{task['id']}", json={"title": "Changed"}, headers=people.member.headers
    )
    assert response.status_code == 500
    got = client.get(f"/api/tasks/{task['id']}", headers=people.member.headers)
    assert got.json["title"] == "Original"
    assert outbox() == events_before


def test_a_relayed_event_is_appended_to_the_live_log(client, factory, people, live_redis):
    project = factory.team()
    task = factory.task(project, title="Live")

    def logged() -> list[dict]:
        entries = live_redis.xrange(f"live:project:{project['id']}")
        return [json.loads(fields[b"event"]) for _, fields in entries]

    created = wait_for(
        lambda: [e for e in logged() if e["type"] == "task.created"], timeout=10, interval=0.05
    )
    assert created and created[0]["entity"] == {"type": "task", "id": task["id"]}
    # The same entry, under the same id, in the platform's log and the actor's account log.
    ids = {entry_id for entry_id, _ in live_redis.xrange(f"live:project:{project['id']}")}
    assert ids <= {entry_id for entry_id, _ in live_redis.xrange("live:all")}
    actor = created[0]["actor"]["id"]
    assert ids & {entry_id for entry_id, _ in live_redis.xrange(f"live:user:{actor}")}
