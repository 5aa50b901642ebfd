"""Workspaces, relations and templates through nginx: who sees what in a workspace (in
project-task and in the services that ask it), a blocks cycle refused, a blocked task
held open, a project made from a template, and the bad inputs of each."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from scripts.toolkit.waiting import wait_for
from tests.support.api import Account, ApiClient

PROBLEM = "application/problem+json"


@dataclass
class Org:
    owner: Account  # owns the workspace
    admin: Account  # a workspace admin, in no project
    member: Account  # a workspace member, in no project
    lead: Account  # owns the projects
    workspace: dict
    shared: dict  # visibility workspace
    private: dict  # visibility private


def _created(api: ApiClient, path: str, who: Account, body: dict) -> dict:
    response = api.post(path, token=who.access_token, json=body)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def org(api) -> Org:
    owner, admin, member, lead = (api.account() for _ in range(4))
    workspace = _created(api, "/api/workspaces", owner, {"name": "Acme"})
    members = f"/api/workspaces/{workspace['id']}/members"
    _created(api, members, owner, {"user_id": admin.id, "role": "admin"})
    _created(api, members, owner, {"user_id": member.id, "role": "member"})
    _created(api, members, owner, {"user_id": lead.id, "role": "admin"})
    projects = {}
    for name, visibility in (("shared", "workspace"), ("private", "private")):
        body = {"name": name, "workspace_id": workspace["id"], "visibility": visibility}
        projects[name] = _created(api, "/api/projects", lead, body)
    return Org(owner, admin, member, lead, workspace, **projects)


def test_a_workspace_admin_manages_a_project_they_were_never_added_to(api, org):
    url = f"/api/projects/{org.private['id']}"
    project = api.get(url, token=org.admin.access_token)
    assert project.status_code == 200 and project.json()["my_role"] == "admin"
    renamed = api.patch(url, token=org.admin.access_token, json={"name": "Run by the admin"})
    assert renamed.status_code == 200
    task = _created(api, f"{url}/tasks", org.admin, {"title": "Set up"})
    added = api.post(
        f"{url}/members",
        token=org.admin.access_token,
        json={"user_id": org.member.id, "role": "member"},
    )
    assert added.status_code == 201
    comment = api.post(
        f"/api/tasks/{task['id']}/comments",
        token=org.member.access_token,
        json={"content": "Added by a workspace admin"},
    )
    assert comment.status_code == 201, comment.text


def test_a_member_sees_workspace_projects_not_private_ones_until_removed(api, org):
    shared_task = _created(
        api, f"/api/projects/{org.shared['id']}/tasks", org.lead, {"title": "Open"}
    )
    hidden_task = _created(
        api, f"/api/projects/{org.private['id']}/tasks", org.lead, {"title": "Hidden"}
    )
    _created(api, f"/api/tasks/{shared_task['id']}/comments", org.lead, {"content": "Hello all"})
    token = org.member.access_token

    assert api.get(f"/api/projects/{org.shared['id']}", token=token).json()["my_role"] == "viewer"
    comments = api.get(f"/api/tasks/{shared_task['id']}/comments", token=token)
    assert comments.status_code == 200 and comments.json()["total"] == 1
    for url in (
        f"/api/projects/{org.private['id']}",
        f"/api/tasks/{hidden_task['id']}",
        f"/api/tasks/{hidden_task['id']}/comments",
    ):
        response = api.get(url, token=token)
        assert response.status_code == 404 and response.headers["Content-Type"] == PROBLEM
    listed = api.get("/api/projects", token=token).json()
    assert [p["id"] for p in listed["items"]] == [org.shared["id"]]

    def shared_activity() -> list:
        response = api.get(f"/api/activities?project_id={org.shared['id']}", token=token)
        assert response.status_code == 200, response.text
        return response.json()["items"]

    assert wait_for(shared_activity, timeout=20), "the member never saw the shared activity"

    removed = api.delete(
        f"/api/workspaces/{org.workspace['id']}/members/{org.member.id}",
        token=org.admin.access_token,
    )
    assert removed.status_code == 204
    for url in (f"/api/projects/{org.shared['id']}", f"/api/tasks/{shared_task['id']}"):
        assert api.get(url, token=token).status_code == 404
    assert api.get("/api/projects", token=token).json()["total"] == 0
    # The comment service's cached answer lasts TASK_ACCESS_CACHE_SECONDS at most.
    assert wait_for(
        lambda: api.get(f"/api/tasks/{shared_task['id']}/comments", token=token).status_code == 404,
        timeout=15,
    )


def test_a_three_task_blocks_cycle_is_refused(api, org):
    tasks_url = f"/api/projects/{org.shared['id']}/tasks"
    a, b, c = (_created(api, tasks_url, org.lead, {"title": name}) for name in "abc")
    _created(
        api, f"/api/tasks/{a['id']}/relations", org.lead, {"type": "blocks", "task_id": b["id"]}
    )
    _created(
        api, f"/api/tasks/{b['id']}/relations", org.lead, {"type": "blocks", "task_id": c["id"]}
    )
    cycle = api.post(
        f"/api/tasks/{c['id']}/relations",
        token=org.lead.access_token,
        json={"type": "blocks", "task_id": a["id"]},
    )
    assert cycle.status_code == 422 and cycle.headers["Content-Type"] == PROBLEM
    assert "task_id" in cycle.json()["errors"]
    seen = api.get(f"/api/tasks/{b['id']}/relations", token=org.member.access_token).json()
    assert sorted((r["type"], r["task_id"]) for r in seen["items"]) == sorted(
        [("blocked_by", a["id"]), ("blocks", c["id"])]
    )


def test_closing_a_blocked_task_is_409_until_the_blocker_is_done(api, org):
    tasks_url = f"/api/projects/{org.private['id']}/tasks"
    blocker, blocked = (_created(api, tasks_url, org.lead, {"title": t}) for t in ("first", "then"))
    _created(
        api,
        f"/api/tasks/{blocker['id']}/relations",
        org.lead,
        {"type": "blocks", "task_id": blocked["id"]},
    )
    token = org.lead.access_token
    refused = api.patch(f"/api/tasks/{blocked['id']}", token=token, json={"status": "done"})
    assert refused.status_code == 409 and refused.json()["code"] == "blocked"
    assert refused.headers["Content-Type"] == PROBLEM
    assert api.patch(f"/api/tasks/{blocker['id']}", token=token, json={"status": "done"}).ok
    closed = api.patch(f"/api/tasks/{blocked['id']}", token=token, json={"status": "done"})
    assert closed.status_code == 200 and closed.json()["status"] == "done"


def test_a_project_from_a_template_has_its_tasks_subtasks_and_relations_shifted(api, org):
    token = org.lead.access_token
    template = _created(
        api,
        "/api/projects",
        org.lead,
        {"name": "Playbook", "is_template": True, "start_date": "2030-01-01"},
    )
    url = f"/api/projects/{template['id']}/tasks"
    parent = _created(
        api, url, org.lead, {"title": "Prepare", "due_date": "2030-01-10", "labels": ["prep"]}
    )
    child = _created(
        api, url, org.lead, {"title": "Book", "parent_id": parent["id"], "due_date": "2030-01-04"}
    )
    _created(
        api,
        f"/api/tasks/{child['id']}/relations",
        org.lead,
        {"type": "blocks", "task_id": parent["id"]},
    )

    made = api.post(
        "/api/projects",
        token=token,
        json={"name": "Spring launch", "from_template": template["id"], "start_date": "2030-04-01"},
    )
    assert made.status_code == 201, made.text
    project = made.json()
    tasks = {
        t["title"]: t
        for t in api.get(f"/api/projects/{project['id']}/tasks", token=token).json()["items"]
    }
    assert tasks["Prepare"]["due_date"] == "2030-04-10" and tasks["Prepare"]["labels"] == ["prep"]
    assert tasks["Book"]["due_date"] == "2030-04-04"
    assert tasks["Book"]["parent_id"] == tasks["Prepare"]["id"]
    relations = api.get(f"/api/tasks/{tasks['Book']['id']}/relations", token=token).json()
    assert [(r["type"], r["task_id"]) for r in relations["items"]] == [
        ("blocks", tasks["Prepare"]["id"])
    ]


def test_bad_input_is_refused_with_problem_json(api, org):
    other_lead = api.account()
    elsewhere = _created(api, "/api/projects", other_lead, {"name": "Elsewhere"})
    _created(
        api,
        f"/api/projects/{elsewhere['id']}/members",
        other_lead,
        {"user_id": org.lead.id, "role": "member"},
    )
    there = _created(api, f"/api/projects/{elsewhere['id']}/tasks", org.lead, {"title": "There"})
    here = _created(api, f"/api/projects/{org.shared['id']}/tasks", org.lead, {"title": "Here"})
    token = org.lead.access_token

    crossing = api.post(
        f"/api/tasks/{here['id']}/relations",
        token=token,
        json={"type": "relates_to", "task_id": there["id"]},
    )
    assert crossing.status_code == 422 and crossing.headers["Content-Type"] == PROBLEM
    hidden_template = _created(
        api, "/api/projects", other_lead, {"name": "Secret", "is_template": True}
    )
    unseen = api.post(
        "/api/projects", token=token, json={"name": "Copy", "from_template": hidden_template["id"]}
    )
    assert unseen.status_code == 404 and unseen.headers["Content-Type"] == PROBLEM
    into = {"workspace_id": org.workspace["id"], "visibility": "workspace"}
    not_in_it = api.patch(
        f"/api/projects/{elsewhere['id']}", token=other_lead.access_token, json=into
    )
    assert not_in_it.status_code == 404 and not_in_it.headers["Content-Type"] == PROBLEM
    _created(
        api,
        f"/api/workspaces/{org.workspace['id']}/members",
        org.owner,
        {"user_id": other_lead.id, "role": "member"},
    )
    not_admin = api.patch(
        f"/api/projects/{elsewhere['id']}", token=other_lead.access_token, json=into
    )
    assert not_admin.status_code == 403 and not_admin.json()["code"] == "forbidden"
    assert (
        api.get(f"/api/projects/{elsewhere['id']}", token=other_lead.access_token).json()[
            "workspace_id"
        ]
        is None
    )
