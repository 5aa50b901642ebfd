"""Board order: positions of new tasks, moves between neighbours and across columns,
renumbering when a column has no room left, ``sort=position``, ``task.moved``, bad moves
that change nothing, and concurrent moves that never share or lose a place."""

from __future__ import annotations

import threading

import pytest
import requests
from sqlalchemy import select
from werkzeug.serving import make_server

from services.project_task.board import GAP
from services.project_task.models import Task

PROBLEM = "application/problem+json"


def _column(client, project: dict, status: str, who) -> list[int]:
    response = client.get(
        f"/api/projects/{project['id']}/tasks?status={status}&sort=position&per_page=200",
        headers=who.headers,
    )
    assert response.status_code == 200, response.json
    positions = [item["position"] for item in response.json["items"]]
    assert positions == sorted(set(positions)), "positions are unique and ascending"
    return [item["id"] for item in response.json["items"]]


def _move(client, task: dict, who, **body):
    return client.post(f"/api/tasks/{task['id']}/move", json=body, headers=who.headers)


def test_new_tasks_go_to_the_end_of_their_column(client, factory, people):
    project = factory.team()
    a, b = factory.task(project), factory.task(project)
    c = factory.task(project, status="in_progress")
    assert b["position"] == a["position"] + GAP
    assert c["position"] == GAP
    assert _column(client, project, "todo", people.viewer) == [a["id"], b["id"]]


def test_a_move_places_the_task_between_its_neighbours(client, factory, people, outbox):
    project = factory.team()
    a, b, c = (factory.task(project, title=name) for name in "abc")
    response = _move(client, c, people.member, after_id=a["id"])
    assert response.status_code == 200, response.json
    assert response.headers["ETag"]
    assert _column(client, project, "todo", people.viewer) == [a["id"], c["id"], b["id"]]
    response = _move(client, a, people.member, before_id=b["id"])
    assert response.status_code == 200
    assert _column(client, project, "todo", people.viewer) == [c["id"], a["id"], b["id"]]
    response = _move(client, c, people.member)
    assert _column(client, project, "todo", people.viewer) == [a["id"], b["id"], c["id"]]
    response = _move(client, b, people.member, after_id=a["id"], before_id=c["id"])
    assert response.status_code == 200
    assert _column(client, project, "todo", people.viewer) == [a["id"], b["id"], c["id"]]
    moved = outbox("task.moved")
    assert len(moved) == 4
    assert moved[0]["entity"] == {"type": "task", "id": c["id"]}
    assert moved[0]["data"]["from"] == {"status": "todo", "position": c["position"]}
    assert moved[0]["data"]["to"]["status"] == "todo"
    assert a["position"] < moved[0]["data"]["to"]["position"] < b["position"]
    assert moved[0]["changes"]["position"][0] == c["position"]
    assert outbox("task.updated") == []


def test_a_move_to_another_column_changes_the_status(client, factory, people, outbox):
    project = factory.team()
    a, b = factory.task(project), factory.task(project)
    doing = factory.task(project, status="in_progress")
    response = _move(client, a, people.member, status="in_progress", before_id=doing["id"])
    assert response.status_code == 200, response.json
    assert response.json["status"] == "in_progress"
    read = client.get(f"/api/tasks/{a['id']}", headers=people.viewer.headers)
    assert (read.json, read.headers["ETag"]) == (response.json, response.headers["ETag"])
    assert _column(client, project, "in_progress", people.viewer) == [a["id"], doing["id"]]
    assert _column(client, project, "todo", people.viewer) == [b["id"]]
    response = _move(client, b, people.member, status="done")
    assert response.json["status"] == "done" and response.json["completed_at"]
    [changed, _] = outbox("task.status_changed")
    assert changed["changes"]["status"] == ["todo", "in_progress"]
    [moved, _] = outbox("task.moved")
    assert moved["data"]["from"]["status"] == "todo"
    assert moved["data"]["to"]["status"] == "in_progress"


def test_a_status_change_puts_the_task_at_the_end_of_the_new_column(
    client, factory, people, outbox
):
    project = factory.team()
    doing = [factory.task(project, status="in_progress") for _ in range(2)]
    task = factory.task(project)
    response = client.patch(
        f"/api/tasks/{task['id']}", json={"status": "in_progress"}, headers=people.member.headers
    )
    assert response.status_code == 200
    assert response.json["position"] > doing[1]["position"]
    assert _column(client, project, "in_progress", people.viewer) == [
        doing[0]["id"],
        doing[1]["id"],
        task["id"],
    ]
    [moved] = outbox("task.moved")
    assert moved["data"]["to"] == {"status": "in_progress", "position": response.json["position"]}
    # A change of another field keeps the place.
    response = client.patch(
        f"/api/tasks/{task['id']}", json={"title": "Renamed"}, headers=people.member.headers
    )
    assert response.json["position"] == moved["data"]["to"]["position"]


def test_the_column_is_renumbered_when_there_is_no_room(client, factory, people):
    """Each move to the top halves the room there; after ten the column is renumbered
    and every task keeps its order."""
    project = factory.team()
    tasks = [factory.task(project) for _ in range(14)]
    expected = [task["id"] for task in tasks]
    for task in tasks[2:]:
        response = _move(client, task, people.member, before_id=expected[1])
        assert response.status_code == 200, response.json
        expected.remove(task["id"])
        expected.insert(1, task["id"])
        assert _column(client, project, "todo", people.viewer) == expected
    response = client.get(
        f"/api/projects/{project['id']}/tasks?status=todo&sort=position",
        headers=people.owner.headers,
    )
    # The eleventh move found no room: the column was renumbered, then the twelfth took
    # the middle of the room that made.
    positions = [item["position"] for item in response.json["items"]]
    assert positions == [GAP, GAP + GAP // 2] + [GAP * n for n in range(2, 14)]


def test_an_etag_survives_a_renumbering(client, factory, people):
    project = factory.team()
    a, b = factory.task(project), factory.task(project)
    etag = client.get(f"/api/tasks/{a['id']}", headers=people.member.headers).headers["ETag"]
    for _ in range(12):
        mover = factory.task(project)
        assert _move(client, mover, people.member, after_id=a["id"]).status_code == 200
    response = client.patch(
        f"/api/tasks/{a['id']}",
        json={"title": "Still mine"},
        headers={**people.member.headers, "If-Match": etag},
    )
    assert response.status_code == 200, response.json
    assert b["id"] in _column(client, project, "todo", people.viewer)


@pytest.mark.parametrize(
    "body",
    [
        {"after_id": "other"},
        {"before_id": "other"},
        {"after_id": "missing"},
        {"after_id": "self"},
        {"before_id": "done"},
        {"after_id": "b", "before_id": "a"},
        {"status": "sideways"},
        {"after_id": "1"},
        {"before_id": 0},
        {"after_id": 2**31},
    ],
)
def test_a_bad_move_is_refused_and_changes_nothing(client, factory, people, outbox, body):
    project = factory.team()
    a, b, task = factory.task(project), factory.task(project), factory.task(project)
    done = factory.task(project, status="done")
    elsewhere = factory.task(factory.team())
    names = {"other": elsewhere["id"], "missing": 10**9, "self": task["id"], "done": done["id"]}
    names |= {"a": a["id"], "b": b["id"]}
    body = {key: names.get(value, value) for key, value in body.items()}
    before = client.get(f"/api/tasks/{task['id']}", headers=people.member.headers).json
    response = _move(client, task, people.member, **body)
    assert response.status_code == 422, response.json
    assert response.headers["Content-Type"] == PROBLEM
    assert response.json["code"] == "validation_error" and response.json["errors"]
    assert client.get(f"/api/tasks/{task['id']}", headers=people.member.headers).json == before
    assert outbox("task.moved") == []


def test_who_may_move(client, factory, people):
    project = factory.team()
    task = factory.task(project)
    assert _move(client, task, people.viewer).status_code == 403
    response = _move(client, task, people.stranger)
    assert response.status_code == 404 and response.headers["Content-Type"] == PROBLEM
    assert _move(client, task, people.member).status_code == 200
    assert (
        client.post("/api/tasks/999999999/move", json={}, headers=people.owner.headers).status_code
        == 404
    )


def test_duplicates_go_to_the_end_of_todo(client, factory, people):
    project = factory.team()
    a = factory.task(project)
    b = factory.task(project)
    response = client.post(
        f"/api/tasks/{a['id']}/duplicate", json={}, headers=people.member.headers
    )
    assert response.status_code == 201
    assert response.json["position"] == b["position"] + GAP


@pytest.fixture
def served(app):
    """The app served over HTTP from a thread, for requests that run concurrently."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_concurrent_moves_never_share_or_lose_a_place(factory, people, served, database):
    project = factory.team()
    tasks = [factory.task(project) for _ in range(8)]
    ids = [task["id"] for task in tasks]
    errors: list[str] = []

    def mover(offset: int) -> None:
        with requests.Session() as session:
            for step in range(30):
                task = ids[(offset + step * 3) % len(ids)]
                neighbour = ids[(offset + step * 5 + 1) % len(ids)]
                body = {"before_id": neighbour} if step % 2 else {"after_id": neighbour}
                if neighbour == task:
                    body = {}
                response = session.post(
                    f"{served}/api/tasks/{task}/move", json=body, headers=people.member.headers
                )
                if response.status_code != 200:
                    errors.append(response.text)

    threads = [threading.Thread(target=mover, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with database() as session:
        rows = session.execute(
            select(Task.id, Task.position).where(Task.project_id == project["id"])
        ).all()
    assert sorted(row.id for row in rows) == sorted(ids)
    assert len({row.position for row in rows}) == len(ids)
