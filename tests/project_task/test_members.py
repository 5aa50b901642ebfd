"""Project members: adding each role, role changes, handing ownership over, removal."""

from __future__ import annotations

from services.project_task.models import ProjectMember


def test_add_members_with_each_role(client, factory, people, outbox):
    project = factory.project()
    url = f"/api/projects/{project['id']}/members"
    for role in ("admin", "member", "viewer"):
        user = getattr(people, role)
        response = client.post(
            url, json={"user_id": user.id, "role": role}, headers=people.owner.headers
        )
        assert response.status_code == 201
        assert response.json == {
            **response.json,
            "user_id": user.id,
            "role": role,
            "project_id": project["id"],
        }
        assert response.headers["Location"] == f"{url}/{user.id}"
    listed = client.get(url, headers=people.viewer.headers)
    assert [(m["user_id"], m["role"]) for m in listed.json["items"]] == [
        (people.owner.id, "owner"),
        (people.admin.id, "admin"),
        (people.member.id, "member"),
        (people.viewer.id, "viewer"),
    ]
    assert listed.headers["Link"]
    added = outbox("project.member_added")
    assert [e["data"] for e in added] == [
        {"user_id": people.admin.id, "role": "admin"},
        {"user_id": people.member.id, "role": "member"},
        {"user_id": people.viewer.id, "role": "viewer"},
    ]
    for role in ("admin", "member", "viewer"):
        seen = client.get(f"/api/projects/{project['id']}", headers=getattr(people, role).headers)
        assert seen.json["my_role"] == role


def test_only_project_admins_add_members(client, factory, people, accounts):
    project = factory.team()
    url = f"/api/projects/{project['id']}/members"
    newcomer = accounts.create()
    for who in (people.member, people.viewer):
        response = client.post(url, json={"user_id": newcomer.id}, headers=who.headers)
        assert response.status_code == 403
    response = client.post(url, json={"user_id": newcomer.id}, headers=people.stranger.headers)
    assert response.status_code == 404
    response = client.post(url, json={"user_id": newcomer.id}, headers=people.admin.headers)
    assert response.status_code == 201 and response.json["role"] == "member"


def test_adding_bad_members_is_refused(client, factory, people, accounts, count_rows):
    project = factory.project()
    url = f"/api/projects/{project['id']}/members"
    headers = people.owner.headers
    unknown = client.post(url, json={"user_id": 987654}, headers=headers)
    assert unknown.status_code == 422 and "user_id" in unknown.json["errors"]
    gone = accounts.create()
    accounts.deactivate(gone)
    inactive = client.post(url, json={"user_id": gone.id}, headers=headers)
    assert inactive.status_code == 422 and "user_id" in inactive.json["errors"]
    again = client.post(url, json={"user_id": people.owner.id}, headers=headers)
    assert again.status_code == 409 and "user_id" in again.json["errors"]
    for body, field in (
        ({"user_id": people.member.id, "role": "owner"}, "role"),
        ({"user_id": "5"}, "user_id"),
        ({"user_id": people.member.id, "role": "boss"}, "role"),
        ({}, "user_id"),
    ):
        response = client.post(url, json=body, headers=headers)
        assert response.status_code == 422 and field in response.json["errors"], body
    assert count_rows(ProjectMember) == 1


def test_admins_change_roles_but_only_the_owner_hands_ownership_over(
    client, factory, people, outbox
):
    project = factory.team()
    url = f"/api/projects/{project['id']}/members"
    response = client.patch(
        f"{url}/{people.viewer.id}", json={"role": "member"}, headers=people.admin.headers
    )
    assert response.status_code == 200 and response.json["role"] == "member"
    assert outbox("project.member_updated")[-1]["changes"] == {"role": ["viewer", "member"]}
    response = client.patch(
        f"{url}/{people.admin.id}", json={"role": "owner"}, headers=people.admin.headers
    )
    assert response.status_code == 403
    response = client.patch(
        f"{url}/{people.owner.id}", json={"role": "viewer"}, headers=people.admin.headers
    )
    assert response.status_code == 409
    response = client.patch(
        f"{url}/{people.member.id}", json={"role": "admin"}, headers=people.member.headers
    )
    assert response.status_code == 403

    response = client.patch(
        f"{url}/{people.admin.id}", json={"role": "owner"}, headers=people.owner.headers
    )
    assert response.status_code == 200 and response.json["role"] == "owner"
    project_now = client.get(f"/api/projects/{project['id']}", headers=people.owner.headers).json
    assert project_now["owner_id"] == people.admin.id and project_now["my_role"] == "admin"
    [handover] = outbox("project.updated")
    assert handover["changes"] == {"owner_id": [people.owner.id, people.admin.id]}
    # The new owner may delete; the previous one no longer may.
    assert (
        client.delete(f"/api/projects/{project['id']}", headers=people.owner.headers).status_code
        == 403
    )
    assert (
        client.delete(f"/api/projects/{project['id']}", headers=people.admin.headers).status_code
        == 204
    )


def test_member_etag_and_if_match(client, factory, people):
    project = factory.team()
    url = f"/api/projects/{project['id']}/members/{people.member.id}"
    etag = client.get(url, headers=people.viewer.headers).headers["ETag"]
    client.patch(url, json={"role": "viewer"}, headers=people.owner.headers)
    stale = client.patch(
        url, json={"role": "admin"}, headers={**people.owner.headers, "If-Match": etag}
    )
    assert stale.status_code == 412
    assert client.get(url, headers=people.owner.headers).json["role"] == "viewer"


def test_removing_a_member_unassigns_their_tasks(client, factory, people, outbox):
    project = factory.team()
    task = factory.task(project, assignee_id=people.member.id)
    url = f"/api/projects/{project['id']}/members"
    assert (
        client.delete(f"{url}/{people.member.id}", headers=people.viewer.headers).status_code == 403
    )
    assert (
        client.delete(f"{url}/{people.member.id}", headers=people.admin.headers).status_code == 204
    )
    assert (
        client.get(f"/api/tasks/{task['id']}", headers=people.owner.headers).json["assignee_id"]
        is None
    )
    assert client.get(f"/api/tasks/{task['id']}", headers=people.member.headers).status_code == 404
    [event] = outbox("project.member_removed")
    assert event["data"] == {
        "user_id": people.member.id,
        "role": "member",
        "unassigned_task_ids": [task["id"]],
    }
    # Anyone may leave, except the owner.
    assert (
        client.delete(f"{url}/{people.viewer.id}", headers=people.viewer.headers).status_code == 204
    )
    response = client.delete(f"{url}/{people.owner.id}", headers=people.owner.headers)
    assert response.status_code == 409
    assert (
        client.delete(f"{url}/{people.stranger.id}", headers=people.owner.headers).status_code
        == 404
    )
