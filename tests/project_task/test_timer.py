"""The timer: one per user, started on a task, stopped into a time entry of the right
length and day; starting another stops the first.

Durations: one timer really runs for over a second (one minute, by the rounding rule);
longer runs are set up by moving a running timer's start back in the database, as an
operator could, so the service's own clock still measures them."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from services.project_task.models import Timer
from services.project_task.timer.rules import whole_minutes

PROBLEM = "application/problem+json"


def today():
    return datetime.now(UTC).date()


def start(client, task: dict, account, expected: int = 201, **fields):
    response = client.post(
        "/api/timer", json={"task_id": task["id"], **fields}, headers=account.headers
    )
    assert response.status_code == expected, response.json
    return response


def stop(client, account, expected: int = 200):
    response = client.delete("/api/timer", headers=account.headers)
    assert response.status_code == expected, response.json
    return response


@pytest.fixture
def started_ago(database):
    """``started_ago(account, delta)``: move the account's running timer's start back."""

    def move(account, delta: timedelta, **fields) -> None:
        with database() as session:
            session.execute(
                update(Timer)
                .where(Timer.user_id == account.id)
                .values(started_at=datetime.now(UTC) - delta, **fields)
            )
            session.commit()

    return move


@pytest.mark.parametrize(
    ("seconds", "minutes"),
    [(0, 1), (29, 1), (89, 1), (90, 2), (3600, 60), (5439, 91), (86_399, 1440)],
)
def test_elapsed_time_rounds_to_the_nearest_minute_and_at_least_one(seconds, minutes):
    assert whole_minutes(seconds) == minutes


def test_the_timer_stops_into_an_entry_of_the_right_length(client, factory, people, outbox):
    task = factory.task(factory.team())

    started = start(client, task, people.member, note="Pairing", billable=True)

    assert started.headers["Location"] == "/api/timer"
    timer = started.json
    assert timer["task_id"] == task["id"] and timer["user_id"] == people.member.id
    assert timer["spent_on"] == today().isoformat() and timer["stopped"] is None
    shown = client.get("/api/timer", headers=people.member.headers)
    assert shown.status_code == 200 and shown.headers["ETag"] == started.headers["ETag"]
    assert shown.json == {k: v for k, v in timer.items() if k != "stopped"}
    time.sleep(1.2)

    stopped = stop(client, people.member).json

    began = datetime.fromisoformat(stopped["timer"]["started_at"])
    ended = datetime.fromisoformat(stopped["stopped_at"])
    assert stopped["elapsed_seconds"] == int((ended - began).total_seconds()) >= 1
    entry = stopped["entry"]
    assert (entry["minutes"], entry["spent_on"]) == (1, today().isoformat())
    assert (entry["note"], entry["billable"], entry["task_id"]) == ("Pairing", True, task["id"])
    gone = client.get("/api/timer", headers=people.member.headers)
    assert gone.status_code == 404 and gone.mimetype == PROBLEM
    assert stop(client, people.member, 404).json["code"] == "not_found"
    shown = client.get(f"/api/tasks/{task['id']}", headers=people.member.headers)
    assert shown.json["spent_minutes"] == 1
    [began_event] = outbox("timer.started")
    [ended_event] = outbox("timer.stopped")
    assert began_event["entity"] == ended_event["entity"] == {"type": "timer", "id": timer["id"]}
    assert ended_event["data"]["entry"]["id"] == entry["id"]
    [created] = outbox("time_entry.created")
    assert created["data"]["time_entry"] == entry


def test_a_longer_run_gives_its_minutes(client, factory, people, started_ago):
    task = factory.task(factory.team())
    start(client, task, people.member)
    started_ago(people.member, timedelta(minutes=90, seconds=40))

    stopped = stop(client, people.member).json

    assert 5440 <= stopped["elapsed_seconds"] <= 5450
    assert stopped["entry"]["minutes"] == 91


def test_starting_a_second_timer_stops_the_first(client, factory, people, started_ago):
    project = factory.team()
    first, second = factory.task(project), factory.task(project)
    start(client, first, people.member)
    started_ago(people.member, timedelta(minutes=25))

    response = start(client, second, people.member)

    stopped = response.json["stopped"]
    assert stopped["timer"]["task_id"] == first["id"]
    assert stopped["entry"]["task_id"] == first["id"] and stopped["entry"]["minutes"] == 25
    running = client.get("/api/timer", headers=people.member.headers).json
    assert running["task_id"] == second["id"] and running["id"] == response.json["id"]
    entries = client.get("/api/time-entries?user_id=me", headers=people.member.headers).json
    assert [(e["task_id"], e["minutes"]) for e in entries["items"]] == [(first["id"], 25)]
    # Each user has a timer of their own.
    start(client, first, people.admin)
    assert client.get("/api/timer", headers=people.member.headers).json["task_id"] == second["id"]


def test_a_timer_past_midnight_counts_on_its_first_day(client, factory, people, started_ago):
    task = factory.task(factory.team())
    start(client, task, people.member)
    yesterday = today() - timedelta(days=1)
    started_ago(people.member, timedelta(hours=3), spent_on=yesterday)

    entry = stop(client, people.member).json["entry"]

    assert (entry["spent_on"], entry["minutes"]) == (yesterday.isoformat(), 180)
    local = (today() - timedelta(days=3)).isoformat()
    assert start(client, task, people.member, spent_on=local).json["spent_on"] == local
    future = (today() + timedelta(days=2)).isoformat()
    refused = start(client, task, people.member, 422, spent_on=future)
    assert "spent_on" in refused.json["errors"]


def test_a_forgotten_timer_gets_what_its_day_has_left(client, factory, people, started_ago):
    project = factory.team()
    task = factory.task(project)
    client.post(
        f"/api/tasks/{task['id']}/time-entries",
        json={"spent_on": today().isoformat(), "minutes": 1400},
        headers=people.member.headers,
    )
    start(client, task, people.member)
    started_ago(people.member, timedelta(hours=30))

    stopped = stop(client, people.member).json

    assert stopped["elapsed_seconds"] >= 30 * 3600 and stopped["entry"]["minutes"] == 40
    start(client, task, people.member)
    full = stop(client, people.member).json
    assert full["entry"] is None and full["elapsed_seconds"] >= 0
    # Nor does a timer become an entry once its owner no longer logs time there.
    start(client, task, people.admin)
    client.patch(
        f"/api/projects/{project['id']}/members/{people.admin.id}",
        json={"role": "viewer"},
        headers=people.owner.headers,
    )
    assert stop(client, people.admin).json["entry"] is None


def test_who_may_start_a_timer(client, factory, people):
    task = factory.task(factory.team())
    viewer = start(client, task, people.viewer, 403)
    assert viewer.mimetype == PROBLEM and viewer.json["code"] == "forbidden"
    assert start(client, task, people.stranger, 404).json["code"] == "not_found"
    assert start(client, task, people.root, 403).json["code"] == "forbidden"
    bad = client.post("/api/timer", json={"task_id": "1"}, headers=people.member.headers)
    assert bad.status_code == 422 and "task_id" in bad.json["errors"]
    for account in (people.viewer, people.stranger, people.root):
        assert client.get("/api/timer", headers=account.headers).status_code == 404


def test_if_match_and_a_deleted_task(client, factory, people):
    task = factory.task(factory.team())
    etag = start(client, task, people.member).headers["ETag"]
    stale = client.delete("/api/timer", headers={**people.member.headers, "If-Match": '"old"'})
    assert stale.status_code == 412 and stale.headers["ETag"] == etag
    assert (
        client.delete(f"/api/tasks/{task['id']}", headers=people.owner.headers).status_code == 204
    )
    assert client.get("/api/timer", headers=people.member.headers).status_code == 404
