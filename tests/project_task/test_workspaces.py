"""Workspaces: their members and roles, and who sees which project of a workspace (the
access rule of access.py), with the effects of moves, removals and deletion."""

from __future__ import annotations

from services.project_task.models import Project, Workspace, WorkspaceMember

PROBLEM = "application/problem+json"


def test_create_workspace_answers_201_and_makes_you_its_owner(client, crew, outbox):
    body = {"name": "Acme", "description": "Everything Acme"}
    response = client.post("/api/workspaces", json=body, headers=crew.ws_owner.headers)
    assert response.status_code == 201
    workspace = response.json
    assert response.headers["Location"] == f"/api/workspaces/{workspace['id']}"
    assert response.headers["ETag"]
    assert workspace["owner_id"] == crew.ws_owner.id
    assert workspace["my_role"] == "owner" and workspace["member_count"] == 1
    [event] = outbox("workspace.created")
    assert event["entity"] == {"type": "workspace", "id": workspace["id"]}
    assert event["project_id"] is None
    assert event["data"]["workspace"]["name"] == "Acme"
    members = client.get(
        f"/api/workspaces/{workspace['id']}/members", headers=crew.ws_owner.headers
    ).json
    assert [(m["user_id"], m["role"]) for m in members["items"]] == [(crew.ws_owner.id, "owner")]


def test_list_shows_my_workspaces_and_admins_list_all(client, factory, crew, people):
    mine = factory.workspace(crew.ws_owner, name="Mine")
    factory.add_workspace_member(mine, crew.ws_member, "member", by=crew.ws_owner)
    factory.workspace(crew.outsider, name="Theirs")
    response = client.get("/api/workspaces", headers=crew.ws_member.headers)
    assert [(w["name"], w["my_role"]) for w in response.json["items"]] == [("Mine", "member")]
    assert response.json["items"][0]["member_count"] == 2
    assert client.get("/api/workspaces?all=true", headers=crew.ws_member.headers).status_code == 403
    everything = client.get("/api/workspaces?all=true&sort=name", headers=people.root.headers)
    assert [w["name"] for w in everything.json["items"]] == ["Mine", "Theirs"]


def test_workspace_is_404_outside_403_for_members_and_editable_by_admins(
    client, factory, crew, outbox
):
    workspace = factory.workspace(crew.ws_owner)
    factory.add_workspace_member(workspace, crew.ws_admin, "admin", by=crew.ws_owner)
    factory.add_workspace_member(workspace, crew.ws_member, "member", by=crew.ws_owner)
    url = f"/api/workspaces/{workspace['id']}"
    for response in (
        client.get(url, headers=crew.outsider.headers),
        client.patch(url, json={"name": "Mine"}, headers=crew.outsider.headers),
        client.delete(url, headers=crew.outsider.headers),
        client.get(f"{url}/members", headers=crew.outsider.headers),
        client.get(f"{url}/projects", headers=crew.outsider.headers),
    ):
        assert response.status_code == 404 and response.mimetype == PROBLEM
    refused = client.patch(url, json={"name": "Mine"}, headers=crew.ws_member.headers)
    assert refused.status_code == 403 and refused.json["code"] == "forbidden"
    assert client.delete(url, headers=crew.ws_admin.headers).status_code == 403
    etag = client.get(url, headers=crew.ws_admin.headers).headers["ETag"]
    stale = client.patch(
        url, json={"name": "Old"}, headers={**crew.ws_admin.headers, "If-Match": '"stale"'}
    )
    assert stale.status_code == 412
    renamed = client.patch(
        url, json={"name": "Renamed"}, headers={**crew.ws_admin.headers, "If-Match": etag}
    )
    assert renamed.status_code == 200 and renamed.json["name"] == "Renamed"
    [event] = outbox("workspace.updated")
    assert event["changes"] == {"name": [workspace["name"], "Renamed"]}


def test_members_are_managed_by_admins_and_ownership_is_handed_over(
    client, factory, crew, people, accounts, outbox
):
    workspace = factory.workspace(crew.ws_owner)
    url = f"/api/workspaces/{workspace['id']}/members"
    factory.add_workspace_member(workspace, crew.ws_admin, "admin", by=crew.ws_owner)
    factory.add_workspace_member(workspace, crew.ws_member, "member", by=crew.ws_admin)
    body = {"user_id": people.stranger.id}
    assert client.post(url, json=body, headers=crew.ws_member.headers).status_code == 403
    again = client.post(url, json={"user_id": crew.ws_member.id}, headers=crew.ws_owner.headers)
    assert again.status_code == 409 and again.json["code"] == "conflict"
    gone = accounts.create()
    accounts.deactivate(gone)
    inactive = client.post(url, json={"user_id": gone.id}, headers=crew.ws_owner.headers)
    assert inactive.status_code == 422 and "user_id" in inactive.json["errors"]
    granted = client.post(
        url, json={"user_id": people.stranger.id, "role": "owner"}, headers=crew.ws_owner.headers
    )
    assert granted.status_code == 422  # ownership is handed over, never granted

    owner_url = f"{url}/{crew.ws_owner.id}"
    assert client.delete(owner_url, headers=crew.ws_owner.headers).status_code == 409
    assert (
        client.patch(owner_url, json={"role": "member"}, headers=crew.ws_admin.headers).status_code
        == 409
    )
    handover = {"role": "owner"}
    member_url = f"{url}/{crew.ws_member.id}"
    assert client.patch(member_url, json=handover, headers=crew.ws_admin.headers).status_code == 403
    handed = client.patch(member_url, json=handover, headers=crew.ws_owner.headers)
    assert handed.status_code == 200 and handed.json["role"] == "owner"
    roles = {
        m["user_id"]: m["role"]
        for m in client.get(url, headers=crew.ws_owner.headers).json["items"]
    }
    assert roles == {
        crew.ws_member.id: "owner",
        crew.ws_owner.id: "admin",
        crew.ws_admin.id: "admin",
    }
    now = client.get(f"/api/workspaces/{workspace['id']}", headers=crew.ws_owner.headers).json
    assert now["owner_id"] == crew.ws_member.id
    assert [e["changes"] for e in outbox("workspace.updated")] == [
        {"owner_id": [crew.ws_owner.id, crew.ws_member.id]}
    ]
    # Anyone may leave, except the owner.
    assert (
        client.delete(f"{url}/{crew.ws_admin.id}", headers=crew.ws_admin.headers).status_code == 204
    )
    assert client.get(url, headers=crew.ws_admin.headers).status_code == 404


def test_a_workspace_admin_manages_a_project_they_were_never_added_to(client, org, crew, people):
    project_url = f"/api/projects/{org.private['id']}"
    seen = client.get(project_url, headers=crew.ws_admin.headers)
    assert seen.status_code == 200 and seen.json["my_role"] == "admin"
    changed = client.patch(project_url, json={"name": "Managed"}, headers=crew.ws_admin.headers)
    assert changed.status_code == 200 and changed.json["name"] == "Managed"
    added = client.post(
        f"{project_url}/members",
        json={"user_id": people.member.id, "role": "member"},
        headers=crew.ws_admin.headers,
    )
    assert added.status_code == 201
    task = client.post(
        f"{project_url}/tasks", json={"title": "From the admin"}, headers=crew.ws_admin.headers
    )
    assert task.status_code == 201
    # Admins of the workspace are admins, not owners, of its projects.
    assert client.delete(project_url, headers=crew.ws_admin.headers).status_code == 403
    listed = client.get(
        f"/api/workspaces/{org.workspace['id']}/projects", headers=crew.ws_admin.headers
    )
    assert {(p["name"], p["my_role"]) for p in listed.json["items"]} == {
        ("Managed", "admin"),
        ("Shared", "admin"),
    }


def test_a_workspace_member_sees_workspace_projects_as_a_viewer_and_not_private_ones(
    client, factory, org, crew
):
    shared_task = factory.task(org.shared)
    private_task = factory.task(org.private)
    headers = crew.ws_member.headers
    project = client.get(f"/api/projects/{org.shared['id']}", headers=headers)
    assert project.status_code == 200 and project.json["my_role"] == "viewer"
    assert client.get(f"/api/tasks/{shared_task['id']}", headers=headers).status_code == 200
    assert client.get(f"/api/projects/{org.shared['id']}/tasks", headers=headers).json["total"] == 1
    refused = client.post(
        f"/api/projects/{org.shared['id']}/tasks", json={"title": "Mine"}, headers=headers
    )
    assert refused.status_code == 403
    for url in (
        f"/api/projects/{org.private['id']}",
        f"/api/tasks/{private_task['id']}",
        f"/api/projects/{org.outside['id']}",
    ):
        response = client.get(url, headers=headers)
        assert response.status_code == 404 and response.mimetype == PROBLEM
    assert [p["id"] for p in client.get("/api/projects", headers=headers).json["items"]] == [
        org.shared["id"]
    ]
    assert [t["id"] for t in client.get("/api/tasks", headers=headers).json["items"]] == [
        shared_task["id"]
    ]
    listed = client.get(f"/api/workspaces/{org.workspace['id']}/projects", headers=headers)
    assert [p["id"] for p in listed.json["items"]] == [org.shared["id"]]


def test_removal_from_the_workspace_ends_access_at_once_with_the_projects_it_took(
    client, factory, org, crew, people, outbox
):
    task = factory.task(org.shared)
    # A member of the project itself keeps it when they leave the workspace.
    factory.add_member(org.private, crew.ws_member, "member")
    assert client.get(f"/api/tasks/{task['id']}", headers=crew.ws_member.headers).status_code == 200
    url = f"/api/workspaces/{org.workspace['id']}/members/{crew.ws_member.id}"
    assert client.delete(url, headers=crew.ws_admin.headers).status_code == 204
    assert client.get(f"/api/tasks/{task['id']}", headers=crew.ws_member.headers).status_code == 404
    assert (
        client.get(f"/api/projects/{org.private['id']}", headers=crew.ws_member.headers).json[
            "my_role"
        ]
        == "member"
    )
    [event] = outbox("workspace.member_removed")
    assert event["data"] == {
        "workspace_id": org.workspace["id"],
        "user_id": crew.ws_member.id,
        "role": "member",
        "project_ids_lost": [org.shared["id"]],
    }
    # An admin made a member loses the private projects, keeps the shared ones as a viewer.
    member_url = f"/api/workspaces/{org.workspace['id']}/members/{crew.ws_admin.id}"
    demoted = client.patch(member_url, json={"role": "member"}, headers=crew.ws_owner.headers)
    assert demoted.status_code == 200
    headers = crew.ws_admin.headers
    assert client.get(f"/api/projects/{org.private['id']}", headers=headers).status_code == 404
    assert client.get(f"/api/projects/{org.shared['id']}", headers=headers).json["my_role"] == (
        "viewer"
    )
    [updated] = outbox("workspace.member_updated")
    assert updated["changes"] == {"role": ["admin", "member"]}
    assert updated["data"]["project_ids_lost"] == [org.private["id"]]


def test_moving_a_project_in_needs_the_workspace_admin_and_project_admin_roles(
    client, factory, crew, people, outbox
):
    workspace = factory.workspace(crew.ws_owner)
    factory.add_workspace_member(workspace, crew.ws_member, "member", by=crew.ws_owner)
    factory.add_workspace_member(workspace, people.owner, "admin", by=crew.ws_owner)
    project = factory.team()
    url = f"/api/projects/{project['id']}"
    into = {"workspace_id": workspace["id"], "visibility": "workspace"}
    # The project's admin is no member of the workspace: it does not exist for them.
    unseen = client.patch(url, json=into, headers=people.admin.headers)
    assert unseen.status_code == 404 and unseen.mimetype == PROBLEM
    # A workspace member without a project role cannot even see the project.
    assert client.patch(url, json=into, headers=crew.ws_member.headers).status_code == 404
    factory.add_member(project, crew.ws_member, "admin")
    refused = client.patch(url, json=into, headers=crew.ws_member.headers)
    assert refused.status_code == 403 and refused.json["code"] == "forbidden"
    missing = client.patch(url, json={"workspace_id": 999_999}, headers=people.owner.headers)
    assert missing.status_code == 404
    assert client.get(url, headers=people.owner.headers).json["workspace_id"] is None
    assert outbox("project.updated") == []

    moved = client.patch(url, json=into, headers=people.owner.headers)
    assert moved.status_code == 200
    assert moved.json["workspace_id"] == workspace["id"] and moved.json["visibility"] == "workspace"
    [event] = outbox("project.updated")
    assert event["changes"] == {
        "workspace_id": [None, workspace["id"]],
        "visibility": ["private", "workspace"],
    }
    assert event["data"]["relations_removed"] == 0
    assert client.get(url, headers=crew.ws_owner.headers).json["my_role"] == "admin"


def test_taking_a_project_out_needs_its_owner_or_a_workspace_admin(
    client, factory, org, crew, people
):
    url = f"/api/projects/{org.shared['id']}"
    factory.add_member(org.shared, people.admin, "admin")
    out = {"workspace_id": None}
    refused = client.patch(url, json=out, headers=people.admin.headers)
    assert refused.status_code == 403 and refused.json["code"] == "forbidden"
    taken = client.patch(url, json=out, headers=people.owner.headers)
    assert taken.status_code == 200
    assert taken.json["workspace_id"] is None and taken.json["visibility"] == "private"
    assert client.get(url, headers=crew.ws_member.headers).status_code == 404
    assert client.get(url, headers=crew.ws_admin.headers).status_code == 404
    private_url = f"/api/projects/{org.private['id']}"
    assert client.patch(private_url, json=out, headers=crew.ws_admin.headers).status_code == 200


def test_workspace_visibility_needs_a_workspace(client, factory, people):
    project = factory.project()
    response = client.patch(
        f"/api/projects/{project['id']}",
        json={"visibility": "workspace"},
        headers=people.owner.headers,
    )
    assert response.status_code == 422 and "visibility" in response.json["errors"]
    created = client.post(
        "/api/projects",
        json={"name": "Open", "visibility": "workspace"},
        headers=people.owner.headers,
    )
    assert created.status_code == 422


def test_creating_a_project_in_a_workspace_needs_its_admin_role(client, factory, crew, people):
    workspace = factory.workspace(crew.ws_owner)
    factory.add_workspace_member(workspace, crew.ws_member, "member", by=crew.ws_owner)
    body = {"name": "Placed", "workspace_id": workspace["id"], "visibility": "workspace"}
    assert client.post("/api/projects", json=body, headers=people.owner.headers).status_code == 404
    assert (
        client.post("/api/projects", json=body, headers=crew.ws_member.headers).status_code == 403
    )
    created = client.post("/api/projects", json=body, headers=crew.ws_owner.headers)
    assert created.status_code == 201 and created.json["workspace_id"] == workspace["id"]
    seen = client.get(f"/api/projects/{created.json['id']}", headers=crew.ws_member.headers)
    assert seen.json["my_role"] == "viewer"


def test_deleting_a_workspace_leaves_its_projects_to_their_members(
    client, factory, org, crew, people, outbox, count_rows
):
    shared_task, private_task = factory.task(org.shared), factory.task(org.private)
    factory.relate(shared_task, "blocks", private_task)
    url = f"/api/workspaces/{org.workspace['id']}"
    assert client.delete(url, headers=crew.ws_admin.headers).status_code == 403
    assert client.delete(url, headers=crew.ws_owner.headers).status_code == 204
    for who in (crew.ws_admin, crew.ws_member, crew.ws_owner):
        assert (
            client.get(f"/api/projects/{org.shared['id']}", headers=who.headers).status_code == 404
        )
    project = client.get(f"/api/projects/{org.shared['id']}", headers=people.owner.headers).json
    assert project["workspace_id"] is None and project["visibility"] == "private"
    relations = client.get(
        f"/api/tasks/{shared_task['id']}/relations", headers=people.owner.headers
    )
    assert relations.json["total"] == 0
    assert count_rows(Workspace) == 0 and count_rows(WorkspaceMember) == 0
    assert count_rows(Project) == 3
    [deleted] = outbox("workspace.deleted")
    assert sorted(deleted["data"]["project_ids"]) == sorted([org.shared["id"], org.private["id"]])
    assert sorted(deleted["data"]["member_ids"]) == sorted(
        [crew.ws_owner.id, crew.ws_admin.id, crew.ws_member.id]
    )
    assert deleted["data"]["relations_removed"] == 1
    detached = {
        e["project_id"]: e["changes"]
        for e in outbox("project.updated")
        if e["changes"].get("workspace_id", [None])[0] == org.workspace["id"]
        and e["changes"]["workspace_id"][1] is None
    }
    assert detached == {
        org.shared["id"]: {
            "workspace_id": [org.workspace["id"], None],
            "visibility": ["workspace", "private"],
        },
        org.private["id"]: {"workspace_id": [org.workspace["id"], None]},
    }


def test_get_task_is_one_statement_with_workspace_access(
    client, factory, org, crew, sql_statements
):
    task = factory.task(org.shared, labels=["a", "b"])
    url = f"/api/tasks/{task['id']}"
    for who in (crew.ws_member, crew.ws_admin):
        client.get(url, headers=who.headers)  # the token check is HTTP, cached after this
        with sql_statements() as statements:
            response = client.get(url, headers=who.headers)
        assert response.status_code == 200 and response.json["labels"] == ["a", "b"]
        assert len(statements) == 1, statements
