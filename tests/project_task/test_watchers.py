"""Task watchers: who watches automatically (reporter, assignee, copier), watching and
unwatching (idempotent, both spellings), who may, leaving a project, and the internal
list the notification service asks."""

from __future__ import annotations

import pytest

from services.project_task.models import TaskWatcher

PROBLEM = "application/problem+json"
SERVICE = {"X-Service-Token": "test-service-token"}


def _watchers(client, task: dict, who) -> list[int]:
    response = client.get(f"/api/tasks/{task['id']}/watchers", headers=who.headers)
    assert response.status_code == 200, response.json
    return [item["user_id"] for item in response.json["items"]]


def _internal(client, task: dict) -> list[int]:
    response = client.get(f"/internal/tasks/{task['id']}/watchers", headers=SERVICE)
    assert response.status_code == 200, response.json
    return [item["user_id"] for item in response.json["items"]]


def test_the_reporter_and_the_assignee_watch(client, factory, people):
    project = factory.team()
    task = factory.task(project, by=people.member, assignee_id=people.admin.id)
    assert _watchers(client, task, people.viewer) == sorted([people.member.id, people.admin.id])
    response = client.patch(
        f"/api/tasks/{task['id']}",
        json={"assignee_id": people.owner.id},
        headers=people.member.headers,
    )
    assert response.status_code == 200
    # The old assignee keeps watching until they choose not to.
    assert _watchers(client, task, people.viewer) == sorted(
        [people.member.id, people.admin.id, people.owner.id]
    )


def test_copies_are_watched_by_whoever_copies(client, factory, people):
    project = factory.team()
    task = factory.task(project, assignee_id=people.admin.id)
    response = client.post(
        f"/api/tasks/{task['id']}/duplicate", json={}, headers=people.member.headers
    )
    assert response.status_code == 201
    assert _watchers(client, response.json, people.member) == sorted(
        [people.member.id, people.admin.id]
    )


@pytest.mark.parametrize(
    ("method", "path", "undo_method", "undo_path"),
    [
        ("post", "watch", "delete", "watch"),
        ("put", "watchers/me", "delete", "watchers/me"),
    ],
)
def test_watching_is_idempotent(
    client, factory, people, outbox, method, path, undo_method, undo_path
):
    task = factory.task(factory.team())
    url = f"/api/tasks/{task['id']}/{path}"
    for _ in range(2):
        response = getattr(client, method)(url, headers=people.viewer.headers)
        assert response.status_code == 200, response.json
        assert response.json == {
            "task_id": task["id"],
            "user_id": people.viewer.id,
            "watching": True,
        }
    assert _watchers(client, task, people.viewer) == sorted([people.owner.id, people.viewer.id])
    [watched] = outbox("task.watched")
    assert watched["actor"]["id"] == people.viewer.id
    assert watched["entity"] == {"type": "task", "id": task["id"]}
    assert watched["data"]["user_id"] == people.viewer.id
    for _ in range(2):
        response = getattr(client, undo_method)(
            f"/api/tasks/{task['id']}/{undo_path}", headers=people.viewer.headers
        )
        assert response.status_code == 204
    assert _watchers(client, task, people.viewer) == [people.owner.id]
    assert len(outbox("task.unwatched")) == 1
    # The reporter may stop watching too.
    assert client.delete(url, headers=people.owner.headers).status_code == 204
    assert _watchers(client, task, people.viewer) == []


def test_a_task_you_cannot_see_is_a_404_and_nothing_changes(
    client, factory, people, outbox, count_rows
):
    task = factory.task(factory.team())
    before = count_rows(TaskWatcher)
    for method, path in (
        ("post", "watch"),
        ("delete", "watch"),
        ("put", "watchers/me"),
        ("delete", "watchers/me"),
        ("get", "watchers"),
    ):
        for task_id in (task["id"], 10**9):
            response = getattr(client, method)(
                f"/api/tasks/{task_id}/{path}", headers=people.stranger.headers
            )
            assert response.status_code == 404, (method, path)
            assert response.headers["Content-Type"] == PROBLEM
            assert response.json["code"] == "not_found"
    assert count_rows(TaskWatcher) == before
    assert outbox("task.watched") == []


def test_leaving_the_project_ends_every_watch_there(client, factory, people):
    project = factory.team()
    other = factory.team()
    tasks = [factory.task(project, by=people.member) for _ in range(2)]
    elsewhere = factory.task(other, by=people.member)
    client.post(f"/api/tasks/{tasks[0]['id']}/watch", headers=people.viewer.headers)
    response = client.delete(
        f"/api/projects/{project['id']}/members/{people.member.id}", headers=people.owner.headers
    )
    assert response.status_code == 204
    for task in tasks:
        assert people.member.id not in _watchers(client, task, people.owner)
        assert people.member.id not in _internal(client, task)
    assert _watchers(client, tasks[0], people.owner) == sorted([people.viewer.id])
    assert _watchers(client, elsewhere, people.owner) == [people.member.id]


def test_the_internal_list_leaves_out_who_can_no_longer_see_the_project(
    client, factory, people, org, crew
):
    """A workspace member watching a workspace-visible project's task drops out of the
    internal list when the project turns private, though the row stays."""
    task = factory.task(org.shared)
    response = client.post(f"/api/tasks/{task['id']}/watch", headers=crew.ws_member.headers)
    assert response.status_code == 200
    assert _internal(client, task) == sorted([people.owner.id, crew.ws_member.id])
    response = client.patch(
        f"/api/projects/{org.shared['id']}",
        json={"visibility": "private"},
        headers=people.owner.headers,
    )
    assert response.status_code == 200
    assert _internal(client, task) == [people.owner.id]
    assert client.get("/internal/tasks/999999999/watchers", headers=SERVICE).status_code == 404
    response = client.get(f"/internal/tasks/{task['id']}/watchers", headers=people.owner.headers)
    assert response.status_code == 403


def _comment_event(envelope, task: dict, author, **data):
    comment = {"id": 5, "task_id": task["id"], "author_id": author.id, "content": "hi"}
    return envelope(
        "comment.created",
        actor={"id": author.id, "username": author.username},
        entity=("comment", 5),
        project_id=task["project_id"],
        data={"comment": comment, "task": {"id": task["id"]}, **data},
    )


def test_commenters_and_the_mentioned_watch_once_per_event(
    app, client, factory, people, envelope, database
):
    from services.project_task.models import ProcessedEvent

    consume = app.extensions["celery"].tasks["project_task.consume_event"]
    task = factory.task(factory.team())
    event = _comment_event(
        envelope,
        task,
        people.member,
        mentioned_user_ids=[people.viewer.id, people.stranger.id],
    )
    for _ in range(2):  # a redelivery changes nothing
        result = consume.apply(args=[event])
        assert result.successful(), result.traceback
    # The stranger cannot see the project: mentioned or not, they do not watch it.
    assert _watchers(client, task, people.owner) == sorted(
        [people.owner.id, people.member.id, people.viewer.id]
    )
    with database() as session:
        assert session.get(ProcessedEvent, event["event_id"]) is not None
    # A comment on a task deleted since: nothing to watch, and no failure.
    client.delete(f"/api/tasks/{task['id']}", headers=people.owner.headers)
    late = _comment_event(envelope, task, people.admin)
    assert consume.apply(args=[late]).successful()
