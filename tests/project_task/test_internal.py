"""Internal endpoints for the comment and attachment services (``X-Service-Token``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

SERVICE = {"X-Service-Token": "test-service-token"}


def test_task_access_needs_the_service_token(client, factory, people):
    task = factory.task(factory.team())
    url = f"/internal/tasks/{task['id']}/access?user_id={people.owner.id}"
    for headers in ({}, {"X-Service-Token": "wrong"}, people.owner.headers):
        response = client.get(url, headers=headers)
        assert response.status_code == 403 and response.json["code"] == "forbidden"


def test_task_access_gives_the_project_and_role_of_a_member(client, factory, people):
    project = factory.team()
    task = factory.task(project)
    for who, role in ((people.owner, "owner"), (people.admin, "admin"), (people.viewer, "viewer")):
        response = client.get(
            f"/internal/tasks/{task['id']}/access?user_id={who.id}", headers=SERVICE
        )
        assert response.status_code == 200
        assert response.json == {
            "project_id": project["id"],
            "role": role,
            "task": {
                "id": task["id"],
                "title": task["title"],
                "assignee_id": None,
                "reporter_id": people.owner.id,
            },
        }
    # user_id is taken literally: not even a global admin has a role in someone's project.
    for user_id in (people.stranger.id, people.root.id):
        response = client.get(
            f"/internal/tasks/{task['id']}/access?user_id={user_id}", headers=SERVICE
        )
        assert response.status_code == 404 and response.mimetype == "application/problem+json"
    assert (
        client.get(
            f"/internal/tasks/999999/access?user_id={people.owner.id}", headers=SERVICE
        ).status_code
        == 404
    )
    for query in ("", "?user_id=abc", "?user_id=0"):
        response = client.get(f"/internal/tasks/{task['id']}/access{query}", headers=SERVICE)
        assert response.status_code == 422 and "user_id" in response.json["errors"]


def test_project_access_and_members(client, factory, people):
    project = factory.team()
    url = f"/internal/projects/{project['id']}"
    assert client.get(f"{url}/access?user_id={people.member.id}", headers=SERVICE).json == {
        "project_id": project["id"],
        "role": "member",
    }
    assert (
        client.get(f"{url}/access?user_id={people.stranger.id}", headers=SERVICE).status_code == 404
    )
    response = client.get(f"{url}/members", headers=SERVICE)
    assert response.status_code == 200
    assert sorted((m["user_id"], m["role"]) for m in response.json["items"]) == sorted(
        (getattr(people, role).id, role) for role in ("owner", "admin", "member", "viewer")
    )
    assert client.get(f"{url}/members").status_code == 403
    assert client.get("/internal/projects/999999/members", headers=SERVICE).status_code == 404


def test_user_projects_lists_memberships(client, factory, people):
    project = factory.team()
    other = factory.project(people.member)
    memberships = client.get(f"/internal/users/{people.member.id}/projects", headers=SERVICE).json
    assert memberships["items"] == [
        {"project_id": project["id"], "role": "member"},
        {"project_id": other["id"], "role": "owner"},
    ]
    assert client.get("/internal/users/999999/projects", headers=SERVICE).json == {"items": []}
    assert client.get(f"/internal/users/{people.member.id}/projects").status_code == 403


def test_due_soon_lists_open_assigned_tasks_due_within_the_window(client, factory, people):
    project = factory.team()
    today = datetime.now(UTC).date()
    for title, due, status in [
        ("due today", today, "todo"),
        ("due next week", today + timedelta(days=7), "todo"),
        ("done already", today, "done"),
    ]:
        factory.task(
            project,
            title=title,
            due_date=due.isoformat(),
            assignee_id=people.member.id,
            status=status,
        )
    factory.task(project, title="unassigned", due_date=today.isoformat())
    due = client.get("/internal/tasks/due-soon?hours=24", headers=SERVICE).json["items"]
    assert [t["title"] for t in due] == ["due today"]
    assert due[0]["assignee_id"] == people.member.id and due[0]["due_date"] == today.isoformat()
    assert client.get("/internal/tasks/due-soon?hours=0", headers=SERVICE).status_code == 422


def test_internal_answers_apply_the_workspace_access_rule(client, factory, org, crew, people):
    shared_task, private_task = factory.task(org.shared), factory.task(org.private)

    def task_role(task: dict, who) -> int | str:
        response = client.get(
            f"/internal/tasks/{task['id']}/access?user_id={who.id}", headers=SERVICE
        )
        return response.json["role"] if response.status_code == 200 else response.status_code

    assert task_role(shared_task, crew.ws_member) == "viewer"
    assert task_role(private_task, crew.ws_member) == 404
    assert task_role(private_task, crew.ws_admin) == "admin"
    assert task_role(shared_task, crew.outsider) == 404
    project_url = f"/internal/projects/{org.shared['id']}/access"
    assert client.get(f"{project_url}?user_id={crew.ws_owner.id}", headers=SERVICE).json == {
        "project_id": org.shared["id"],
        "role": "admin",
    }
    assert (
        client.get(
            f"/internal/projects/{org.private['id']}/access?user_id={crew.ws_member.id}",
            headers=SERVICE,
        ).status_code
        == 404
    )
    memberships = client.get(f"/internal/users/{crew.ws_member.id}/projects", headers=SERVICE).json
    assert memberships["items"] == [{"project_id": org.shared["id"], "role": "viewer"}]
    admin_projects = client.get(
        f"/internal/users/{crew.ws_admin.id}/projects", headers=SERVICE
    ).json
    assert admin_projects["items"] == [
        {"project_id": org.shared["id"], "role": "admin"},
        {"project_id": org.private["id"], "role": "admin"},
    ]
    members = client.get(f"/internal/projects/{org.shared['id']}/members", headers=SERVICE).json
    assert sorted((m["user_id"], m["role"]) for m in members["items"]) == sorted(
        [
            (people.owner.id, "owner"),
            (crew.ws_owner.id, "admin"),
            (crew.ws_admin.id, "admin"),
            (crew.ws_member.id, "viewer"),
        ]
    )
    private_members = client.get(
        f"/internal/projects/{org.private['id']}/members", headers=SERVICE
    ).json
    assert crew.ws_member.id not in {m["user_id"] for m in private_members["items"]}
    # Removed from the workspace: every answer narrows at once.
    url = f"/api/workspaces/{org.workspace['id']}/members/{crew.ws_member.id}"
    assert client.delete(url, headers=crew.ws_owner.headers).status_code == 204
    assert task_role(shared_task, crew.ws_member) == 404
    assert client.get(f"/internal/users/{crew.ws_member.id}/projects", headers=SERVICE).json == {
        "items": []
    }


def test_workspace_access(client, org, crew):
    url = f"/internal/workspaces/{org.workspace['id']}/access"
    for who, role in (
        (crew.ws_owner, "owner"),
        (crew.ws_admin, "admin"),
        (crew.ws_member, "member"),
    ):
        assert client.get(f"{url}?user_id={who.id}", headers=SERVICE).json == {
            "workspace_id": org.workspace["id"],
            "role": role,
        }
    assert client.get(f"{url}?user_id={crew.outsider.id}", headers=SERVICE).status_code == 404
    assert (
        client.get(
            f"/internal/workspaces/999999/access?user_id={crew.ws_owner.id}", headers=SERVICE
        ).status_code
        == 404
    )
    assert client.get(f"{url}?user_id={crew.ws_owner.id}").status_code == 403
