"""Projects: create, list, read, edit, delete, with the role rules and events."""

from __future__ import annotations

from services.project_task.models import Project, ProjectMember, Task

PROBLEM = "application/problem+json"


def test_create_project_answers_201_with_location_etag_owner_and_event(client, people, outbox):
    body = {
        "name": "Launch",
        "priority": "high",
        "start_date": "2030-01-01",
        "end_date": "2030-02-01",
    }
    response = client.post("/api/projects", json=body, headers=people.owner.headers)
    assert response.status_code == 201
    project = response.json
    assert response.headers["Location"] == f"/api/projects/{project['id']}"
    assert response.headers["ETag"]
    assert project["owner_id"] == people.owner.id
    assert project["my_role"] == "owner" and project["task_count"] == 0
    assert project["status"] == "active" and project["priority"] == "high"
    assert project["start_date"] == "2030-01-01" and project["created_at"].endswith("+00:00")
    [event] = outbox("project.created")
    assert event["entity"] == {"type": "project", "id": project["id"]}
    assert event["project_id"] == project["id"]
    assert event["actor"] == {"id": people.owner.id, "username": people.owner.username}
    assert event["request_id"] == response.headers["X-Request-ID"]
    members = client.get(f"/api/projects/{project['id']}/members", headers=people.owner.headers)
    assert [(m["user_id"], m["role"]) for m in members.json["items"]] == [
        (people.owner.id, "owner")
    ]


def test_list_shows_my_projects_with_my_role_and_task_count(client, factory, people):
    mine = factory.team(name="Mine")
    factory.task(mine)
    factory.task(mine)
    factory.project(owner=people.stranger, name="Theirs")
    response = client.get("/api/projects", headers=people.viewer.headers)
    assert response.status_code == 200
    [item] = response.json["items"]
    assert item["name"] == "Mine" and item["my_role"] == "viewer" and item["task_count"] == 2
    assert response.json["total"] == 1 and response.json["pages"] == 1
    assert 'rel="first"' in response.headers["Link"]


def test_list_paginates_sorts_and_searches(client, factory, people):
    for name in ("Gamma", "alpha", "Beta 100%"):
        factory.project(name=name)
    response = client.get("/api/projects?per_page=2&sort=name", headers=people.owner.headers)
    assert [p["name"] for p in response.json["items"]] == ["Beta 100%", "Gamma"]
    assert response.json["total"] == 3 and response.json["pages"] == 2
    assert "page=2" in response.headers["Link"] and 'rel="next"' in response.headers["Link"]
    response = client.get("/api/projects?q=100%", headers=people.owner.headers)
    assert [p["name"] for p in response.json["items"]] == ["Beta 100%"]
    response = client.get("/api/projects?q=ALPHA", headers=people.owner.headers)
    assert [p["name"] for p in response.json["items"]] == ["alpha"]


def test_only_global_admins_list_every_project(client, factory, people):
    factory.project(name="Owned by someone")
    assert client.get("/api/projects?all=true", headers=people.owner.headers).status_code == 403
    response = client.get("/api/projects?all=true", headers=people.root.headers)
    assert response.status_code == 200
    [item] = response.json["items"]
    assert item["my_role"] is None and item["task_count"] == 0
    assert client.get("/api/projects", headers=people.root.headers).json["total"] == 0


def test_stranger_gets_404_for_everything_about_a_project(client, factory, people):
    project = factory.project()
    url = f"/api/projects/{project['id']}"
    headers = people.stranger.headers
    for response in (
        client.get(url, headers=headers),
        client.patch(url, json={"name": "Mine now"}, headers=headers),
        client.delete(url, headers=headers),
        client.get(f"{url}/members", headers=headers),
        client.get(f"{url}/tasks", headers=headers),
        client.post(f"{url}/tasks", json={"title": "x"}, headers=headers),
    ):
        assert response.status_code == 404 and response.mimetype == PROBLEM
    missing = client.get("/api/projects/999999", headers=headers)
    assert missing.status_code == 404 and missing.json["detail"] == "No such project."


def test_only_project_admins_edit_and_only_the_owner_deletes(client, factory, people, count_rows):
    project = factory.team()
    url = f"/api/projects/{project['id']}"
    for who in (people.viewer, people.member):
        response = client.patch(url, json={"name": "Renamed"}, headers=who.headers)
        assert response.status_code == 403 and response.json["code"] == "forbidden"
    response = client.patch(url, json={"name": "Renamed"}, headers=people.admin.headers)
    assert response.status_code == 200 and response.json["name"] == "Renamed"
    assert client.delete(url, headers=people.admin.headers).status_code == 403
    assert client.delete(url, headers=people.owner.headers).status_code == 204
    assert client.get(url, headers=people.owner.headers).status_code == 404
    assert count_rows(Project) == count_rows(ProjectMember) == 0


def test_patch_and_put_record_changes_and_send_a_new_etag(client, factory, people, outbox):
    project = factory.project(description="old")
    url = f"/api/projects/{project['id']}"
    first = client.get(url, headers=people.owner.headers)
    response = client.patch(
        url, json={"status": "completed", "end_date": "2031-05-06"}, headers=people.owner.headers
    )
    assert response.status_code == 200
    assert response.headers["ETag"] != first.headers["ETag"]
    [event] = outbox("project.updated")
    assert event["changes"] == {"status": ["active", "completed"], "end_date": [None, "2031-05-06"]}
    response = client.put(url, json={"name": "Replaced"}, headers=people.owner.headers)
    assert response.status_code == 200
    body = response.json
    assert (body["name"], body["description"], body["status"], body["end_date"]) == (
        "Replaced",
        None,
        "active",
        None,
    )
    # Nothing changed: no event.
    client.patch(url, json={"name": "Replaced"}, headers=people.owner.headers)
    assert len(outbox("project.updated")) == 2


def test_stale_if_match_is_412_and_changes_nothing(client, factory, people):
    project = factory.project(name="Before")
    url = f"/api/projects/{project['id']}"
    etag = client.get(url, headers=people.owner.headers).headers["ETag"]
    assert (
        client.patch(url, json={"name": "Changed"}, headers=people.owner.headers).status_code == 200
    )
    stale = client.patch(
        url, json={"name": "Lost"}, headers={**people.owner.headers, "If-Match": etag}
    )
    assert stale.status_code == 412 and stale.json["code"] == "precondition_failed"
    stale = client.delete(url, headers={**people.owner.headers, "If-Match": etag})
    assert stale.status_code == 412
    current = client.get(url, headers=people.owner.headers)
    assert current.json["name"] == "Changed"
    fresh = client.patch(
        url,
        json={"name": "Won"},
        headers={**people.owner.headers, "If-Match": current.headers["ETag"]},
    )
    assert fresh.status_code == 200


def test_bad_project_input_is_422_and_writes_nothing(client, people, count_rows, outbox):
    cases = [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 10_000}, "name"),
        ({"name": 42}, "name"),
        ({"name": "p", "status": "paused"}, "status"),
        ({"name": "p", "priority": "urgent"}, "priority"),
        ({"name": "p", "start_date": "2030-01-01T00:00:00"}, "start_date"),
        ({"name": "p", "start_date": "01/02/2030"}, "start_date"),
        ({"name": "p", "start_date": "2030-02-01", "end_date": "2030-01-01"}, "end_date"),
        ({"name": "p", "owner_id": 5}, "owner_id"),
        ({}, "name"),
    ]
    for body, field in cases:
        response = client.post("/api/projects", json=body, headers=people.owner.headers)
        assert response.status_code == 422, body
        assert response.mimetype == PROBLEM and response.json["code"] == "validation_error"
        assert field in response.json["errors"], (body, response.json)
    assert count_rows(Project) == 0 and outbox() == []


def test_replayed_idempotency_key_gives_the_same_project_once(client, people, count_rows):
    headers = {**people.owner.headers, "Idempotency-Key": "project-1"}
    first = client.post("/api/projects", json={"name": "Once"}, headers=headers)
    again = client.post("/api/projects", json={"name": "Once"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json == first.json and again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert count_rows(Project) == 1
    other = client.post("/api/projects", json={"name": "Twice"}, headers=headers)
    assert other.status_code == 422 and other.json["code"] == "idempotency_key_reused"


def test_global_admin_sees_and_manages_any_project(client, factory, people, count_rows):
    project = factory.project()
    factory.task(project)
    url = f"/api/projects/{project['id']}"
    response = client.get(url, headers=people.root.headers)
    assert response.status_code == 200 and response.json["my_role"] is None
    assert (
        client.patch(url, json={"name": "Admin was here"}, headers=people.root.headers).status_code
        == 200
    )
    assert client.delete(url, headers=people.root.headers).status_code == 204
    assert count_rows(Task) == 0


def test_deleting_a_project_deletes_its_tasks_and_emits_one_event(
    client, factory, people, count_rows, outbox
):
    project = factory.team()
    parent = factory.task(project, labels=["x"])
    factory.task(project, parent_id=parent["id"], labels=["y"])
    assert (
        client.delete(f"/api/projects/{project['id']}", headers=people.owner.headers).status_code
        == 204
    )
    assert count_rows(Task) == 0 and count_rows(ProjectMember) == 0
    [event] = outbox("project.deleted")
    assert event["data"]["name"] == project["name"]
    assert client.get(f"/api/tasks/{parent['id']}", headers=people.owner.headers).status_code == 404


def test_requests_without_a_valid_token_are_401(client):
    response = client.get("/api/projects")
    assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")
    response = client.get("/api/projects", headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 401 and response.mimetype == PROBLEM
