"""One task: create, read, replace, change, delete, with the role rules, validation,
completed_at, ETag/If-Match, Idempotency-Key and events."""

from __future__ import annotations

import pytest

from services.project_task.models import Task, TaskLabel

PROBLEM = "application/problem+json"


def test_create_task_answers_201_with_defaults_location_and_events(client, factory, people, outbox):
    project = factory.team()
    body = {
        "title": "Write the spec",
        "assignee_id": people.member.id,
        "labels": ["docs", "urgent", "docs"],
        "due_date": "2030-03-04",
        "estimated_hours": 2.5,
    }
    response = client.post(
        f"/api/projects/{project['id']}/tasks", json=body, headers=people.member.headers
    )
    assert response.status_code == 201
    task = response.json
    assert response.headers["Location"] == f"/api/tasks/{task['id']}"
    assert task["project_id"] == project["id"] and task["reporter_id"] == people.member.id
    assert task["status"] == "todo" and task["priority"] == "medium"
    assert task["labels"] == ["docs", "urgent"] and task["due_date"] == "2030-03-04"
    assert task["estimated_hours"] == 2.5 and task["completed_at"] is None
    got = client.get(f"/api/tasks/{task['id']}", headers=people.viewer.headers)
    assert got.json == task and got.headers["ETag"] == response.headers["ETag"]
    [created] = outbox("task.created")
    assert created["entity"] == {"type": "task", "id": task["id"]}
    assert (
        created["project_id"] == project["id"]
        and created["data"]["task"]["title"] == "Write the spec"
    )
    [assigned] = outbox("task.assigned")
    assert assigned["changes"] == {"assignee_id": [None, people.member.id]}


def test_status_to_done_sets_completed_at_and_leaving_done_clears_it(
    client, factory, people, outbox
):
    project = factory.team()
    task = factory.task(project)
    url = f"/api/tasks/{task['id']}"
    done = client.patch(url, json={"status": "done"}, headers=people.member.headers)
    assert done.status_code == 200 and done.json["completed_at"].endswith("+00:00")
    again = client.patch(
        url, json={"status": "done", "title": "Still done"}, headers=people.member.headers
    )
    assert again.json["completed_at"] == done.json["completed_at"]
    reopened = client.patch(url, json={"status": "in_progress"}, headers=people.member.headers)
    assert reopened.json["completed_at"] is None
    assert [e["changes"] for e in outbox("task.status_changed")] == [
        {"status": ["todo", "done"]},
        {"status": ["done", "in_progress"]},
    ]
    created_done = factory.task(project, status="done")
    assert created_done["completed_at"] is not None


def test_update_records_changes_and_emits_assigned_and_status_changed(
    client, factory, people, outbox
):
    project = factory.team()
    task = factory.task(project, due_date="2030-01-01")
    response = client.patch(
        f"/api/tasks/{task['id']}",
        json={
            "assignee_id": people.admin.id,
            "status": "in_review",
            "due_date": "2030-02-02",
            "labels": ["a"],
        },
        headers=people.member.headers,
    )
    assert response.status_code == 200
    [updated] = outbox("task.updated")
    assert updated["changes"] == {
        "status": ["todo", "in_review"],
        "assignee_id": [None, people.admin.id],
        "labels": [[], ["a"]],
        "due_date": ["2030-01-01", "2030-02-02"],
    }
    assert updated["actor"]["id"] == people.member.id
    assert outbox("task.assigned")[-1]["changes"] == {"assignee_id": [None, people.admin.id]}
    assert outbox("task.status_changed")[-1]["changes"] == {"status": ["todo", "in_review"]}
    assert response.json["updated_at"] > task["updated_at"]


def test_assigning_a_non_member_is_422_and_writes_nothing(client, factory, people, outbox):
    project = factory.team()
    task = factory.task(project)
    before = outbox()
    response = client.patch(
        f"/api/tasks/{task['id']}",
        json={"assignee_id": people.stranger.id},
        headers=people.member.headers,
    )
    assert response.status_code == 422 and "assignee_id" in response.json["errors"]
    response = client.post(
        f"/api/projects/{project['id']}/tasks",
        json={"title": "t", "assignee_id": people.stranger.id},
        headers=people.member.headers,
    )
    assert response.status_code == 422 and "assignee_id" in response.json["errors"]
    assert client.get(f"/api/tasks/{task['id']}", headers=people.owner.headers).json == task
    assert outbox() == before


def test_role_rules_on_tasks(client, factory, people):
    project = factory.team()
    task = factory.task(project, by=people.admin)
    url = f"/api/tasks/{task['id']}"
    assert client.get(url, headers=people.viewer.headers).status_code == 200
    viewer_edit = client.patch(url, json={"title": "No"}, headers=people.viewer.headers)
    assert viewer_edit.status_code == 403 and viewer_edit.json["code"] == "forbidden"
    assert client.put(url, json={"title": "No"}, headers=people.viewer.headers).status_code == 403
    viewer_create = client.post(
        f"/api/projects/{project['id']}/tasks", json={"title": "No"}, headers=people.viewer.headers
    )
    assert viewer_create.status_code == 403
    for response in (
        client.get(url, headers=people.stranger.headers),
        client.patch(url, json={"title": "No"}, headers=people.stranger.headers),
        client.delete(url, headers=people.stranger.headers),
    ):
        assert response.status_code == 404 and response.mimetype == PROBLEM
    assert (
        client.patch(url, json={"title": "Yes"}, headers=people.member.headers).status_code == 200
    )
    # Members delete what they reported; admins delete anything.
    assert client.delete(url, headers=people.member.headers).status_code == 403
    own = factory.task(project, by=people.member)
    assert (
        client.delete(f"/api/tasks/{own['id']}", headers=people.member.headers).status_code == 204
    )
    assert client.delete(url, headers=people.admin.headers).status_code == 204
    assert client.get(url, headers=people.root.headers).status_code == 404


def test_stale_if_match_is_412_and_without_it_the_last_write_wins(client, factory, people):
    project = factory.team()
    task = factory.task(project)
    url = f"/api/tasks/{task['id']}"
    etag = client.get(url, headers=people.member.headers).headers["ETag"]
    first = client.patch(
        url, json={"title": "First"}, headers={**people.member.headers, "If-Match": etag}
    )
    assert first.status_code == 200 and first.headers["ETag"] != etag
    stale = client.patch(
        url, json={"title": "Second"}, headers={**people.member.headers, "If-Match": etag}
    )
    assert stale.status_code == 412 and stale.json["code"] == "precondition_failed"
    assert stale.headers["ETag"] == first.headers["ETag"]
    assert client.delete(url, headers={**people.owner.headers, "If-Match": etag}).status_code == 412
    assert client.get(url, headers=people.member.headers).json["title"] == "First"
    blind = client.patch(url, json={"title": "Blind"}, headers=people.admin.headers)
    assert blind.status_code == 200 and blind.json["title"] == "Blind"


def test_replayed_idempotency_key_gives_the_same_task_once(
    client, factory, people, count_rows, outbox
):
    project = factory.team()
    url = f"/api/projects/{project['id']}/tasks"
    headers = {**people.member.headers, "Idempotency-Key": "task-key-1"}
    first = client.post(url, json={"title": "Only once"}, headers=headers)
    again = client.post(url, json={"title": "Only once"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json == first.json and again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert count_rows(Task) == 1 and len(outbox("task.created")) == 1
    other = client.post(url, json={"title": "Different"}, headers=headers)
    assert other.status_code == 422 and other.json["code"] == "idempotency_key_reused"
    # The key belongs to its user: someone else's request with it is their own.
    mine = client.post(
        url,
        json={"title": "Only once"},
        headers={**people.admin.headers, "Idempotency-Key": "task-key-1"},
    )
    assert mine.status_code == 201 and mine.json["id"] != first.json["id"]


BAD_TASKS = [
    ({"title": "t", "status": "blocked"}, "status"),
    ({"title": "t", "priority": "urgent"}, "priority"),
    ({"title": "t", "estimated_hours": -1}, "estimated_hours"),
    ({"title": "t", "actual_hours": -0.5}, "actual_hours"),
    ({"title": "x" * 10_000}, "title"),
    ({"title": "x" * 201}, "title"),
    ({"title": ""}, "title"),
    ({"title": "  "}, "title"),
    ({"description": "no title"}, "title"),
    ({"title": 12}, "title"),
    ({"title": "t", "assignee_id": "5"}, "assignee_id"),
    ({"title": "t", "assignee_id": 1.5}, "assignee_id"),
    ({"title": "t", "estimated_hours": "2"}, "estimated_hours"),
    ({"title": "t", "estimated_hours": True}, "estimated_hours"),
    ({"title": "t", "labels": "bug"}, "labels"),
    ({"title": "t", "labels": ["a,b"]}, "labels"),
    ({"title": "t", "labels": [7]}, "labels"),
    ({"title": "t", "due_date": "2030-01-01T10:00:00"}, "due_date"),
    ({"title": "t", "due_date": "2030-01-01T10:00:00+02:00"}, "due_date"),
    ({"title": "t", "due_date": "tomorrow"}, "due_date"),
    ({"title": "t", "due_date": 20300101}, "due_date"),
    ({"title": "t", "parent_id": 999999}, "parent_id"),
    ({"title": "t", "completed_at": "2030-01-01T00:00:00+00:00"}, "completed_at"),
    ({"title": "t", "reporter_id": 1}, "reporter_id"),
]


def _names(field: str, errors: dict) -> bool:
    return any(key == field or key.startswith(f"{field}.") for key in errors)


@pytest.mark.parametrize(("body", "field"), BAD_TASKS)
def test_bad_task_input_is_422_with_field_errors_and_writes_nothing(
    client, factory, people, count_rows, outbox, body, field
):
    project = factory.team()
    existing = factory.task(project, labels=["keep"])
    events_before = outbox()
    response = client.post(
        f"/api/projects/{project['id']}/tasks", json=body, headers=people.member.headers
    )
    assert response.status_code == 422
    assert response.mimetype == PROBLEM and response.json["code"] == "validation_error"
    assert _names(field, response.json["errors"]), response.json
    patch = dict(body) if field == "title" else {k: v for k, v in body.items() if k != "title"}
    if field in patch:
        response = client.patch(
            f"/api/tasks/{existing['id']}", json=patch, headers=people.member.headers
        )
        assert response.status_code == 422 and _names(field, response.json["errors"]), patch
    assert count_rows(Task) == 1 and count_rows(TaskLabel) == 1
    assert (
        client.get(f"/api/tasks/{existing['id']}", headers=people.member.headers).json == existing
    )
    assert outbox() == events_before


def test_malformed_json_is_400(client, factory, people):
    project = factory.team()
    response = client.post(
        f"/api/projects/{project['id']}/tasks",
        data="{nope",
        content_type="application/json",
        headers=people.member.headers,
    )
    assert response.status_code == 400 and response.mimetype == PROBLEM


def test_parent_must_be_a_task_of_the_same_project_and_not_a_descendant(client, factory, people):
    project = factory.team()
    other = factory.project()
    foreign = factory.task(other)
    parent = factory.task(project)
    child = factory.task(project, parent_id=parent["id"])
    assert child["parent_id"] == parent["id"]
    response = client.post(
        f"/api/projects/{project['id']}/tasks",
        json={"title": "t", "parent_id": foreign["id"]},
        headers=people.member.headers,
    )
    assert response.status_code == 422 and "parent_id" in response.json["errors"]
    for new_parent in (parent["id"], child["id"]):
        response = client.patch(
            f"/api/tasks/{parent['id']}",
            json={"parent_id": new_parent},
            headers=people.member.headers,
        )
        assert response.status_code == 422 and "parent_id" in response.json["errors"]


def test_put_replaces_every_editable_field(client, factory, people):
    project = factory.team()
    task = factory.task(
        project, description="d", labels=["a"], priority="high", assignee_id=people.member.id
    )
    response = client.put(
        f"/api/tasks/{task['id']}", json={"title": "Fresh"}, headers=people.member.headers
    )
    assert response.status_code == 200
    body = response.json
    assert (
        body["title"],
        body["description"],
        body["labels"],
        body["priority"],
        body["assignee_id"],
    ) == (
        "Fresh",
        None,
        [],
        "medium",
        None,
    )
    assert body["reporter_id"] == task["reporter_id"] and body["created_at"] == task["created_at"]


def test_deleting_a_task_keeps_its_subtasks_and_emits_an_event(client, factory, people, outbox):
    project = factory.team()
    parent = factory.task(project)
    child = factory.task(project, parent_id=parent["id"])
    assert (
        client.delete(f"/api/tasks/{parent['id']}", headers=people.owner.headers).status_code == 204
    )
    assert (
        client.get(f"/api/tasks/{child['id']}", headers=people.owner.headers).json["parent_id"]
        is None
    )
    [event] = outbox("task.deleted")
    assert (
        event["entity"] == {"type": "task", "id": parent["id"]}
        and event["project_id"] == project["id"]
    )
    project_now = client.get(f"/api/projects/{project['id']}", headers=people.owner.headers).json
    assert project_now["task_count"] == 1
