"""The aggregates served to the reporting service (``/internal/reports/*``): the service
token is required, every figure equals what the task API counts, and the work is a fixed
handful of SQL aggregates however many tasks there are."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from services.project_task.models import Task

SERVICE = {"X-Service-Token": "test-service-token"}
STATUSES = ("todo", "in_progress", "in_review", "done", "cancelled")
PRIORITIES = ("low", "medium", "high", "critical")


def today():
    return datetime.now(UTC).date()


@pytest.fixture
def team(factory, people):
    """A team project with tasks of every kind: overdue, due this week, done, cancelled."""
    project = factory.team()
    past = (today() - timedelta(days=5)).isoformat()
    soon = today().isoformat()
    member, owner = people.member.id, people.owner.id
    for fields in (
        {"status": "todo", "priority": "high", "assignee_id": member, "due_date": past},
        {"status": "todo", "priority": "low", "due_date": soon},
        {"status": "in_progress", "priority": "critical", "assignee_id": member, "due_date": soon},
        {"status": "in_review", "priority": "medium", "assignee_id": owner, "due_date": past},
        {"status": "done", "priority": "medium", "assignee_id": member, "due_date": past},
        {"status": "cancelled", "priority": "low", "due_date": past},
    ):
        factory.task(project, **fields)
    return project


def total(client, account, path: str, **params) -> int:
    response = client.get(path, headers=account.headers, query_string={**params, "per_page": 1})
    assert response.status_code == 200, response.json
    return response.json["total"]


def internal(client, path: str, **params):
    response = client.get(path, headers=SERVICE, query_string=params)
    assert response.status_code == 200, response.json
    return response.json


def test_every_endpoint_needs_the_service_token(client, team, people):
    for path in (
        f"/internal/reports/dashboard?user_id={people.owner.id}",
        f"/internal/reports/project-summary/{team['id']}",
        "/internal/reports/user-workload?user_id=all",
        "/internal/reports/overdue",
        "/internal/reports/system",
    ):
        for headers in ({}, {"X-Service-Token": "wrong"}, people.root.headers):
            response = client.get(path, headers=headers)
            assert response.status_code == 403, path
            assert response.json["code"] == "forbidden"


def test_dashboard_equals_the_task_api(client, team, factory, people):
    factory.task(factory.project(owner=people.member), by=people.member)
    member = people.member

    body = internal(client, "/internal/reports/dashboard", user_id=member.id)

    assert body["project_count"] == 2
    tasks = body["tasks"]
    assert tasks["total"] == total(client, member, "/api/tasks") == 7
    assert tasks["by_status"] == {
        s: total(client, member, "/api/tasks", status=s) for s in STATUSES
    }
    assert tasks["overdue"] == total(client, member, "/api/tasks", overdue="true") == 2
    assert tasks["due_this_week"] == 2
    assert tasks["completion_rate"] == round(1 / 6, 4)
    my_open = total(client, member, "/api/tasks", assignee_id="me", status="todo,in_progress")
    assert body["my_open_tasks"]["total"] == my_open == 2
    assert body["my_open_tasks"]["overdue"] == 1
    assert body["my_open_tasks"]["by_priority"] == {
        "low": 0,
        "medium": 0,
        "high": 1,
        "critical": 1,
    }
    assert [t["priority"] for t in body["my_open_tasks"]["next"]] == ["high", "critical"]
    roles = {p["id"]: p["role"] for p in body["projects"]}
    assert roles[team["id"]] == "member"
    stranger = internal(client, "/internal/reports/dashboard", user_id=people.stranger.id)
    assert stranger["project_count"] == 0 and stranger["tasks"]["total"] == 0


def test_project_summary_equals_the_task_api(client, team, people, database):
    path = f"/api/projects/{team['id']}/tasks"
    with database() as session:  # one task made three weeks ago and finished two weeks ago
        now = datetime.now(UTC)
        session.execute(
            update(Task)
            .where(Task.project_id == team["id"], Task.status == "done")
            .values(created_at=now - timedelta(weeks=3), completed_at=now - timedelta(weeks=2))
        )
        session.commit()

    body = internal(client, f"/internal/reports/project-summary/{team['id']}")

    owner = people.owner
    assert body["project"]["id"] == team["id"] and body["project"]["name"] == team["name"]
    assert body["total"] == 6
    assert body["by_status"] == {s: total(client, owner, path, status=s) for s in STATUSES}
    assert body["by_priority"] == {p: total(client, owner, path, priority=p) for p in PRIORITIES}
    assert body["overdue"] == total(client, owner, path, overdue="true") == 2
    assignees = {a["assignee_id"]: a for a in body["by_assignee"]}
    assert assignees[people.member.id]["total"] == total(
        client, owner, path, assignee_id=people.member.id
    )
    assert assignees[None]["total"] == total(client, owner, path, assignee_id="none")
    assert body["completion_rate"] == round(1 / 5, 4)
    weeks = body["weekly"]
    assert len(weeks) == 8
    assert [w["created"] for w in weeks][-4:] == [1, 0, 0, 5]
    assert [w["completed"] for w in weeks][-4:] == [0, 1, 0, 0]
    monday = today() - timedelta(days=today().weekday())
    assert weeks[-1]["week_start"] == monday.isoformat()
    response = client.get("/internal/reports/project-summary/999999", headers=SERVICE)
    assert response.status_code == 404


def test_user_workload_and_overdue(client, team, factory, people):
    other = factory.project(owner=people.stranger)
    factory.task(other, by=people.stranger, due_date=(today() - timedelta(days=1)).isoformat())

    one = internal(client, "/internal/reports/user-workload", user_id=people.member.id)
    assert one["total"] == total(client, people.member, "/api/tasks", assignee_id="me") == 3
    assert [a["assignee_id"] for a in one["assignees"]] == [people.member.id]
    assert one["overdue"] == 1
    project = internal(
        client, "/internal/reports/user-workload", user_id="all", project_id=team["id"]
    )
    assert sum(a["total"] for a in project["assignees"]) == 6
    assert {a["assignee_id"] for a in project["assignees"]} == {
        people.member.id,
        people.owner.id,
        None,
    }

    mine = internal(client, "/internal/reports/overdue", user_id=people.member.id)
    assert mine["total"] == total(client, people.member, "/api/tasks", overdue="true") == 2
    assert all(t["days_overdue"] == 5 for t in mine["tasks"])
    everywhere = internal(client, "/internal/reports/overdue")
    assert everywhere["total"] == total(
        client, people.root, "/api/tasks", all="true", overdue="true"
    )
    assert everywhere["total"] == 3
    assert internal(client, "/internal/reports/overdue", project_id=other["id"])["total"] == 1
    for query in ("", "?user_id=abc", "?user_id=0"):
        response = client.get(f"/internal/reports/user-workload{query}", headers=SERVICE)
        assert response.status_code == 422 and "user_id" in response.json["errors"]


def test_system_counts_everything(client, team, factory, people):
    factory.project(owner=people.stranger, status="archived")

    body = internal(client, "/internal/reports/system")

    assert body["projects"] == 2
    assert body["projects_by_status"] == {"active": 1, "completed": 0, "archived": 1}
    assert body["members"] == 5  # owner, admin, member, viewer and the stranger
    assert body["tasks"]["total"] == total(client, people.root, "/api/tasks", all="true") == 6
    assert body["tasks"]["overdue"] == 2
    assert body["created_last_7_days"] == 6


def test_a_fixed_number_of_queries_however_many_tasks(client, factory, people, sql_statements):
    def statements_for(path: str) -> int:
        with sql_statements() as statements:
            client.get(path, headers=SERVICE)
        return len(statements)

    project = factory.team()
    factory.task(project, assignee_id=people.member.id)
    small = {
        path: statements_for(path)
        for path in (
            f"/internal/reports/dashboard?user_id={people.member.id}",
            f"/internal/reports/project-summary/{project['id']}",
        )
    }
    for _ in range(3):
        another = factory.team()
        for status in STATUSES:
            factory.task(another, status=status, assignee_id=people.member.id)
            factory.task(project, status=status, assignee_id=people.admin.id)
    for path, count in small.items():
        assert statements_for(path) == count, path


def test_reports_follow_the_workspace_access_rule_and_filter_by_workspace(
    client, factory, org, crew, people
):
    past = (today() - timedelta(days=3)).isoformat()
    for project in (org.shared, org.private, org.outside):
        factory.task(project, due_date=past, assignee_id=people.owner.id)
    dashboard = internal(client, "/internal/reports/dashboard", user_id=crew.ws_member.id)
    assert [(p["id"], p["role"]) for p in dashboard["projects"]] == [(org.shared["id"], "viewer")]
    assert dashboard["tasks"]["total"] == 1

    # The projects of one workspace: everything in it, or what one member can see.
    whole = internal(client, "/internal/reports/overdue", workspace_id=org.workspace["id"])
    assert whole["workspace_id"] == org.workspace["id"]
    assert {row["project_id"] for row in whole["by_project"]} == {
        org.shared["id"],
        org.private["id"],
    }
    seen = internal(
        client,
        "/internal/reports/overdue",
        workspace_id=org.workspace["id"],
        user_id=crew.ws_member.id,
    )
    assert seen["total"] == 1 and seen["tasks"][0]["project_id"] == org.shared["id"]
    workload = internal(
        client,
        "/internal/reports/user-workload",
        user_id="all",
        workspace_id=org.workspace["id"],
        viewer_id=crew.ws_member.id,
    )
    assert workload["workspace_id"] == org.workspace["id"]
    assert [(p["project_id"], p["total"]) for p in workload["by_project"]] == [
        (org.shared["id"], 1)
    ]
    everything = internal(
        client, "/internal/reports/user-workload", user_id="all", workspace_id=org.workspace["id"]
    )
    assert everything["total"] == 2
