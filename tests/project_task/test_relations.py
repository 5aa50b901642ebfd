"""Task relations: both sides shown, where they may go, the cycle check of ``blocks`` (also
across long chains and under concurrent inserts), the ``blocked`` rule, and relations
removed with their tasks."""

from __future__ import annotations

import threading
import time
from itertools import pairwise

import pytest
import requests
from sqlalchemy import select
from werkzeug.serving import make_server

from services.project_task.extensions import db
from services.project_task.locks import lock_project, lock_workspaces
from services.project_task.models import Task, TaskRelation
from services.project_task.tasks.schemas import TaskReplaceSchema

PROBLEM = "application/problem+json"


def _relations(client, task: dict, who) -> dict[int, str]:
    response = client.get(f"/api/tasks/{task['id']}/relations", headers=who.headers)
    assert response.status_code == 200
    return {item["task_id"]: item["type"] for item in response.json["items"]}


def test_each_relation_is_shown_from_both_sides(client, factory, people, outbox):
    project = factory.team()
    a, b, c, d = (factory.task(project, title=name) for name in "abcd")
    response = client.post(
        f"/api/tasks/{a['id']}/relations",
        json={"type": "blocks", "task_id": b["id"]},
        headers=people.member.headers,
    )
    assert response.status_code == 201
    relation = response.json
    assert relation["type"] == "blocks" and relation["task_id"] == b["id"]
    assert relation["task"]["title"] == "b" and relation["created_by"] == people.member.id
    location = f"/api/tasks/{a['id']}/relations/{relation['id']}"
    assert response.headers["Location"] == location and response.headers["ETag"]
    assert client.get(location, headers=people.viewer.headers).json == relation
    factory.relate(c, "relates_to", a)
    factory.relate(d, "duplicates", a)
    assert _relations(client, a, people.viewer) == {
        b["id"]: "blocks",
        c["id"]: "relates_to",
        d["id"]: "duplicated_by",
    }
    assert _relations(client, b, people.viewer) == {a["id"]: "blocked_by"}
    assert _relations(client, c, people.viewer) == {a["id"]: "relates_to"}
    assert _relations(client, d, people.viewer) == {a["id"]: "duplicates"}
    [event, *_] = outbox("task.relation_added")
    assert event["entity"] == {"type": "task", "id": a["id"]}
    assert event["project_id"] == project["id"]
    assert event["data"]["relation"] == {
        "id": relation["id"],
        "type": "blocks",
        "source_id": a["id"],
        "target_id": b["id"],
    }


def test_a_pair_is_related_once_and_never_to_itself(client, factory, people):
    project = factory.team()
    a, b = factory.task(project), factory.task(project)
    factory.relate(a, "relates_to", b)
    url = f"/api/tasks/{b['id']}/relations"
    twice = client.post(
        url, json={"type": "relates_to", "task_id": a["id"]}, headers=people.owner.headers
    )
    assert twice.status_code == 409 and twice.json["code"] == "conflict"
    itself = client.post(
        url, json={"type": "blocks", "task_id": b["id"]}, headers=people.owner.headers
    )
    assert itself.status_code == 422 and "task_id" in itself.json["errors"]
    wrong = client.post(
        url, json={"type": "parent_of", "task_id": a["id"]}, headers=people.owner.headers
    )
    assert wrong.status_code == 422 and "type" in wrong.json["errors"]


def test_a_three_task_blocks_cycle_is_refused(client, factory, people, count_rows):
    project = factory.team()
    a, b, c = (factory.task(project) for _ in range(3))
    factory.relate(a, "blocks", b)
    factory.relate(b, "blocks", c)
    response = client.post(
        f"/api/tasks/{c['id']}/relations",
        json={"type": "blocks", "task_id": a["id"]},
        headers=people.owner.headers,
    )
    assert response.status_code == 422 and response.mimetype == PROBLEM
    assert response.json["code"] == "validation_error" and "task_id" in response.json["errors"]
    assert count_rows(TaskRelation) == 2
    # The other kinds of relation may go round.
    factory.relate(c, "relates_to", a)
    factory.relate(c, "duplicates", a)


def test_a_cycle_is_found_across_a_long_chain(client, factory, people):
    project = factory.team()
    chain = [factory.task(project) for _ in range(40)]
    for first, second in pairwise(chain):
        factory.relate(first, "blocks", second)
    closing = client.post(
        f"/api/tasks/{chain[-1]['id']}/relations",
        json={"type": "blocks", "task_id": chain[0]["id"]},
        headers=people.owner.headers,
    )
    assert closing.status_code == 422
    # Blocking in the chain's own direction is no cycle.
    factory.relate(chain[0], "blocks", chain[-1])


def test_relations_stay_within_one_project_or_one_workspace(client, factory, org, crew, people):
    here = factory.task(org.shared)
    next_door = factory.task(org.private)
    elsewhere = factory.task(org.outside)
    factory.relate(here, "blocks", next_door)  # two projects of one workspace
    url = f"/api/tasks/{here['id']}/relations"
    crossing = client.post(
        url, json={"type": "relates_to", "task_id": elsewhere["id"]}, headers=people.owner.headers
    )
    assert crossing.status_code == 422 and "task_id" in crossing.json["errors"]
    reverse = f"/api/tasks/{elsewhere['id']}/relations"
    back = client.post(
        reverse, json={"type": "relates_to", "task_id": here["id"]}, headers=people.owner.headers
    )
    assert back.status_code == 422
    # A task you cannot see does not exist; one you can only read cannot be related.
    factory.add_member(org.shared, people.member, "member")
    unseen = client.post(
        url, json={"type": "blocks", "task_id": elsewhere["id"]}, headers=people.member.headers
    )
    assert unseen.status_code == 404 and unseen.mimetype == PROBLEM
    missing = client.post(
        url, json={"type": "blocks", "task_id": 999_999}, headers=people.member.headers
    )
    assert missing.status_code == 404
    factory.add_member(org.outside, people.member, "viewer")
    read_only = client.post(
        url, json={"type": "blocks", "task_id": elsewhere["id"]}, headers=people.member.headers
    )
    assert read_only.status_code == 403
    viewer = client.post(
        f"/api/tasks/{next_door['id']}/relations",
        json={"type": "blocks", "task_id": here["id"]},
        headers=crew.ws_member.headers,
    )
    assert viewer.status_code == 404  # the private project's task is not theirs to see


def test_relations_to_tasks_you_cannot_see_are_left_out(client, factory, org, crew):
    here, next_door = factory.task(org.shared), factory.task(org.private)
    factory.relate(here, "blocks", next_door)
    assert _relations(client, here, crew.ws_admin) == {next_door["id"]: "blocks"}
    assert _relations(client, here, crew.ws_member) == {}


def test_closing_a_blocked_task_is_409_until_the_blocker_is_done(client, factory, people):
    project = factory.team()
    blocker, blocked, other = (factory.task(project) for _ in range(3))
    factory.relate(blocker, "blocks", blocked)
    factory.relate(other, "blocks", blocked)
    url = f"/api/tasks/{blocked['id']}"
    refused = client.patch(url, json={"status": "done"}, headers=people.member.headers)
    assert refused.status_code == 409 and refused.mimetype == PROBLEM
    assert refused.json["code"] == "blocked"
    assert str(blocker["id"]) in refused.json["errors"]["status"][0]
    assert client.get(url, headers=people.member.headers).json["status"] == "todo"
    # Other changes, and other statuses, are not held back.
    assert (
        client.patch(url, json={"status": "in_review"}, headers=people.member.headers).status_code
        == 200
    )
    client.patch(
        f"/api/tasks/{blocker['id']}", json={"status": "done"}, headers=people.member.headers
    )
    client.patch(
        f"/api/tasks/{other['id']}", json={"status": "cancelled"}, headers=people.member.headers
    )
    closed = client.patch(url, json={"status": "done"}, headers=people.member.headers)
    assert closed.status_code == 200 and closed.json["completed_at"]


def test_force_closes_a_blocked_task(client, factory, people):
    project = factory.team()
    blocker, blocked = factory.task(project), factory.task(project)
    factory.relate(blocker, "blocks", blocked)
    # A PUT sends the writable fields back as read (TaskReplaceSchema), status changed.
    writable = TaskReplaceSchema().fields
    body = {**{k: v for k, v in blocked.items() if k in writable}, "status": "done"}
    url = f"/api/tasks/{blocked['id']}"
    assert client.put(url, json=body, headers=people.member.headers).status_code == 409
    forced = client.put(url, json={**body, "force": True}, headers=people.member.headers)
    assert forced.status_code == 200 and forced.json["status"] == "done"
    assert "force" not in forced.json


def test_removing_a_relation(client, factory, people, outbox):
    project = factory.team()
    a, b = factory.task(project), factory.task(project)
    relation = factory.relate(a, "blocks", b)
    url = f"/api/tasks/{b['id']}/relations/{relation['id']}"  # from the other side
    assert client.delete(url, headers=people.viewer.headers).status_code == 403
    stale = client.delete(url, headers={**people.member.headers, "If-Match": '"old"'})
    assert stale.status_code == 412
    assert client.delete(url, headers=people.member.headers).status_code == 204
    assert client.get(url, headers=people.member.headers).status_code == 404
    assert _relations(client, a, people.member) == {}
    [event] = outbox("task.relation_removed")
    assert event["entity"] == {"type": "task", "id": b["id"]}
    assert event["data"]["relation"]["source_id"] == a["id"]
    unrelated = factory.task(project)
    assert (
        client.delete(
            f"/api/tasks/{unrelated['id']}/relations/{relation['id']}", headers=people.owner.headers
        ).status_code
        == 404
    )


def test_relations_go_with_their_tasks_and_projects(client, factory, people, org, count_rows):
    project = factory.team()
    a, b, c = (factory.task(project) for _ in range(3))
    factory.relate(a, "blocks", b)
    factory.relate(c, "relates_to", b)
    assert client.delete(f"/api/tasks/{b['id']}", headers=people.owner.headers).status_code == 204
    assert count_rows(TaskRelation) == 0
    assert _relations(client, a, people.owner) == {}
    here, next_door = factory.task(org.shared), factory.task(org.private)
    factory.relate(here, "blocks", next_door)
    assert (
        client.delete(
            f"/api/projects/{org.private['id']}", headers=people.owner.headers
        ).status_code
        == 204
    )
    assert count_rows(TaskRelation) == 0


def test_moving_a_project_out_removes_its_relations_to_other_projects(
    client, factory, org, people, outbox
):
    here, next_door, inside = (
        factory.task(org.shared),
        factory.task(org.private),
        factory.task(org.shared),
    )
    factory.relate(here, "blocks", next_door)
    factory.relate(here, "blocks", inside)
    moved = client.patch(
        f"/api/projects/{org.shared['id']}",
        json={"workspace_id": None},
        headers=people.owner.headers,
    )
    assert moved.status_code == 200
    assert _relations(client, here, people.owner) == {inside["id"]: "blocks"}
    [event] = [
        e
        for e in outbox("project.updated")
        if "workspace_id" in e["changes"] and e["changes"]["workspace_id"][1] is None
    ]
    assert event["data"]["relations_removed"] == 1


@pytest.fixture
def served(app):
    """The app served over HTTP from a thread, for requests that must run concurrently."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_two_halves_of_a_cycle_added_at_once_cannot_both_stand(app, factory, people, served):
    """A transaction adds ``a blocks b`` under the relation locks and holds them; meanwhile a
    request adds ``b blocks a``. The request must wait for the transaction and then see
    its edge: without the locks both would pass their cycle check and commit."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("row locks are PostgreSQL's; SQLite serialises every writer anyway")
    project = factory.team()
    a, b = factory.task(project), factory.task(project)
    answer: dict = {}

    def add_the_other_half() -> None:
        answer["response"] = requests.post(
            f"{served}/api/tasks/{b['id']}/relations",
            json={"type": "blocks", "task_id": a["id"]},
            headers=people.owner.headers,
            timeout=30,
        )

    with app.app_context():
        _, workspace_id = lock_project(project["id"])
        lock_workspaces([workspace_id])
        db.session.add(TaskRelation(type="blocks", source_id=a["id"], target_id=b["id"]))
        db.session.flush()
        other = threading.Thread(target=add_the_other_half)
        other.start()
        time.sleep(1.5)
        assert "response" not in answer, "the second writer did not wait for the first"
        db.session.commit()
    other.join(timeout=30)
    assert answer["response"].status_code == 422, answer["response"].text
    with app.app_context():
        edges = db.session.execute(select(TaskRelation.source_id, TaskRelation.target_id)).all()
        assert [tuple(edge) for edge in edges] == [(a["id"], b["id"])]
        assert db.session.get(Task, a["id"]) is not None
