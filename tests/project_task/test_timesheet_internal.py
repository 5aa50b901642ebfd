"""The timesheet aggregate served to the reporting service
(``/internal/reports/timesheet``) and the hours in the other report figures: each sum
equals what the time-entry API lists, in a fixed number of SQL statements."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest

SERVICE = {"X-Service-Token": "test-service-token"}


def day(offset: int) -> str:
    return (datetime.now(UTC).date() + timedelta(days=offset)).isoformat()


def monday(iso: str) -> str:
    date = datetime.fromisoformat(iso).date()
    return (date - timedelta(days=date.weekday())).isoformat()


@pytest.fixture
def logged(client, factory, people):
    """A team project whose member, admin and owner logged time on three tasks over the
    last ten days, and the member's time in a project of their own."""
    project = factory.team()
    tasks = [factory.task(project, estimated_hours=h) for h in (2, 5, None)]
    plan = [
        (people.member, 0, -9, 60, True),
        (people.member, 1, -9, 45, False),
        (people.member, 0, -4, 120, True),
        (people.admin, 1, -4, 30, False),
        (people.admin, 2, -1, 200, True),
        (people.owner, 2, 0, 15, False),
        (people.owner, 0, -12, 500, False),  # before the period asked for below
    ]
    for account, task, offset, minutes, billable in plan:
        response = client.post(
            f"/api/tasks/{tasks[task]['id']}/time-entries",
            json={"spent_on": day(offset), "minutes": minutes, "billable": billable},
            headers=account.headers,
        )
        assert response.status_code == 201, response.json
    own = factory.task(factory.project(owner=people.member), by=people.member)
    client.post(
        f"/api/tasks/{own['id']}/time-entries",
        json={"spent_on": day(-4), "minutes": 10},
        headers=people.member.headers,
    )
    return project, tasks


def entries(client, account, **params) -> list[dict]:
    """Every entry the API lists for these filters (all pages)."""
    items, page = [], 1
    while True:
        response = client.get(
            "/api/time-entries",
            headers=account.headers,
            query_string={**params, "page": page, "per_page": 200},
        )
        assert response.status_code == 200, response.json
        items += response.json["items"]
        if page >= response.json["pages"]:
            return items
        page += 1


def timesheet(client, **params) -> dict:
    response = client.get("/internal/reports/timesheet", headers=SERVICE, query_string=params)
    assert response.status_code == 200, response.json
    return response.json


def sums(items: list[dict], key) -> dict:
    totals: dict = defaultdict(int)
    for item in items:
        totals[key(item)] += item["minutes"]
    return dict(totals)


@pytest.mark.parametrize("group_by", ["day", "week", "user", "task"])
def test_project_timesheet_equals_the_entries_api(client, logged, people, group_by):
    project, tasks = logged
    period = {"since": day(-10), "until": day(0)}
    listed = entries(client, people.viewer, project_id=project["id"], **period)

    body = timesheet(client, project_id=project["id"], group_by=group_by, **period)

    assert (body["entries"], body["minutes"]) == (len(listed), sum(e["minutes"] for e in listed))
    assert (body["entries"], body["minutes"]) == (6, 470)
    assert body["billable_minutes"] == sum(e["minutes"] for e in listed if e["billable"]) == 380
    assert (body["users"], body["tasks"]) == (3, 3)
    rows = body["rows"]
    if group_by == "day":
        assert len(rows) == 11 and rows[0]["day"] == day(-10) and rows[-1]["day"] == day(0)
        found = {r["day"]: r["minutes"] for r in rows if r["minutes"]}
        assert found == sums(listed, lambda e: e["spent_on"])
    elif group_by == "week":
        found = {r["week_start"]: r["minutes"] for r in rows if r["minutes"]}
        assert found == sums(listed, lambda e: monday(e["spent_on"]))
        assert rows[0]["week_start"] == monday(day(-10)) and rows[-1]["week_start"] == monday(
            day(0)
        )
    elif group_by == "user":
        assert {r["user_id"]: r["minutes"] for r in rows} == sums(listed, lambda e: e["user_id"])
        assert [r["minutes"] for r in rows] == sorted((r["minutes"] for r in rows), reverse=True)
    else:
        assert {r["task_id"]: r["minutes"] for r in rows} == sums(listed, lambda e: e["task_id"])
        first = next(r for r in rows if r["task_id"] == tasks[0]["id"])
        assert (first["title"], first["estimated_hours"]) == (tasks[0]["title"], 2.0)
        assert first["spent_minutes"] == 680  # all time, the entry before the period too
    cells = sums(listed, lambda e: (e["user_id"], e["spent_on"]))
    per_user_day = {
        (person["user_id"], day): minutes
        for person in body["per_user_day"]
        for day, minutes in person["days"].items()
    }
    assert per_user_day == cells
    assert [t["minutes"] for t in body["top_tasks"]] == [200 + 15, 60 + 120, 45 + 30]


def test_a_users_timesheet_spans_their_projects(client, logged, people):
    project, _ = logged
    period = {"since": day(-10), "until": day(0)}
    mine = entries(client, people.member, user_id=people.member.id, **period)

    everywhere = timesheet(client, user_id=people.member.id, group_by="day", **period)
    in_project = timesheet(
        client, user_id=people.member.id, project_id=project["id"], group_by="user", **period
    )

    assert everywhere["minutes"] == sum(e["minutes"] for e in mine) == 235
    assert in_project["minutes"] == 225
    assert in_project["rows"] == [
        {"user_id": people.member.id, "entries": 3, "minutes": 225, "billable_minutes": 180}
    ]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": day(-1), "until": day(0), "group_by": "day"}, "project_id"),
        ({"project_id": 1, "since": day(0), "until": day(-1), "group_by": "day"}, "until"),
        ({"project_id": 1, "since": day(-366), "until": day(0), "group_by": "day"}, "until"),
        ({"project_id": 1, "since": "soon", "until": day(0), "group_by": "day"}, "since"),
        ({"project_id": 1, "since": day(-1), "until": day(0), "group_by": "month"}, "group_by"),
        ({"project_id": 0, "since": day(-1), "until": day(0), "group_by": "day"}, "project_id"),
    ],
)
def test_bad_parameters_are_422(client, params, field):
    response = client.get("/internal/reports/timesheet", headers=SERVICE, query_string=params)
    assert response.status_code == 422 and field in response.json["errors"]


def test_the_service_token_is_required(client, people):
    for headers in ({}, {"X-Service-Token": "wrong"}, people.root.headers):
        response = client.get(
            "/internal/reports/timesheet?project_id=1&since=2026-01-01&until=2026-01-02"
            "&group_by=day",
            headers=headers,
        )
        assert response.status_code == 403


def test_a_fixed_number_of_statements_however_many_entries(client, factory, people, sql_statements):
    project = factory.team()
    query = (
        f"/internal/reports/timesheet?project_id={project['id']}&since={day(-30)}&until={day(0)}"
    )

    def statements(group_by: str) -> int:
        with sql_statements() as seen:
            assert client.get(f"{query}&group_by={group_by}", headers=SERVICE).status_code == 200
        return len(seen)

    few = {group_by: statements(group_by) for group_by in ("day", "task")}
    for offset in range(12):
        task = factory.task(project)
        for account in (people.member, people.admin):
            client.post(
                f"/api/tasks/{task['id']}/time-entries",
                json={"spent_on": day(-offset), "minutes": 30},
                headers=account.headers,
            )
    assert {group_by: statements(group_by) for group_by in few} == few
    assert few == {"day": 2, "task": 2}


def test_report_figures_include_the_hours_logged(client, logged, people):
    project, _ = logged
    listed = entries(client, people.owner, project_id=project["id"])
    hours = round(sum(e["minutes"] for e in listed) / 60, 2)

    summary = client.get(f"/internal/reports/project-summary/{project['id']}", headers=SERVICE).json
    assert summary["spent_hours"] == hours == 16.17
    assert summary["actual_hours"] == 0  # the hand-typed figure is a figure apart
    workload = client.get(
        f"/internal/reports/user-workload?user_id=all&project_id={project['id']}",
        headers=SERVICE,
    ).json
    assert workload["spent_hours"] == hours
    unassigned = next(a for a in workload["assignees"] if a["assignee_id"] is None)
    assert unassigned["spent_hours"] == hours  # the tasks have no assignee
    system = client.get("/internal/reports/system", headers=SERVICE).json["time"]
    everything = entries(client, people.root, all="true")
    assert system["entries"] == len(everything) == 8
    assert system["hours"] == round(sum(e["minutes"] for e in everything) / 60, 2)
    assert system["billable_hours"] == round(380 / 60, 2)
    recent = [e for e in everything if e["spent_on"] >= day(-6)]
    assert system["hours_last_7_days"] == round(sum(e["minutes"] for e in recent) / 60, 2)
    assert system["people"] == 3
