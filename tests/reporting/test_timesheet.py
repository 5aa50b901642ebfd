"""The timesheet report: time entries by three members over two weeks, summed per day,
week, person and task, equal to the sums of the time-entry API in every format (JSON,
CSV read with the csv module, PDF read with pypdf); the quick view; access; schedules;
and the hours in the workload and system reports."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest

from services.reporting.generation import run_schedules
from tests.reporting.factories import today

FORMATS = ("json", "csv", "pdf")
GROUPS = ("day", "week", "user", "task")
DAYS = 14


def hours(minutes: int) -> float:
    return round(minutes / 60, 2)


def monday(day) -> str:
    day = datetime.fromisoformat(str(day)).date()
    return (day - timedelta(days=day.weekday())).isoformat()


@pytest.fixture(scope="module")
def team(project_task_service, user_service):
    """Three members (fresh accounts: the project-task data outlives a test) who logged
    time on three tasks over the last two weeks, most days, some of it billable; made
    once for the module (the tests only read it)."""
    owner, second, third = (user_service.account() for _ in range(3))
    project = project_task_service.project(owner)
    for member in (second, third):
        project_task_service.add_member(project, member, "member", by=owner)
    tasks = [
        project_task_service.task(project, owner, title=title, estimated_hours=estimate)
        for title, estimate in (("Design", 6), ("Build", 20), ("Review", None))
    ]
    for offset in range(DAYS):
        for n, person in enumerate((owner, second, third)):
            if (offset + n) % 4 == 3:
                continue  # a day off now and then
            project_task_service.time_entry(
                tasks[(offset + n) % 3],
                person,
                spent_on=(today() - timedelta(days=offset)).isoformat(),
                minutes=15 * (1 + (offset * 7 + n * 5) % 9),
                billable=(offset + n) % 2 == 0,
            )
    # Time outside the period, and time in another project: in no sum below.
    project_task_service.time_entry(
        tasks[0], owner, spent_on=(today() - timedelta(days=DAYS)).isoformat(), minutes=600
    )
    elsewhere = project_task_service.project(second)
    project_task_service.time_entry(
        project_task_service.task(elsewhere, second),
        second,
        spent_on=today().isoformat(),
        minutes=45,
    )
    return SimpleNamespace(project=project, tasks=tasks, people=(owner, second, third))


def period() -> dict[str, str]:
    return {"since": (today() - timedelta(days=DAYS - 1)).isoformat(), "until": today().isoformat()}


def listed(task_api, account, **params) -> list[dict]:
    """Every time entry the API lists for these filters, all pages."""
    items, page = [], 1
    while True:
        body = task_api.get("/api/time-entries", account, page=page, per_page=200, **params)
        items += body["items"]
        if page >= body["pages"]:
            return items
        page += 1


def api_sums(entries: list[dict], group_by: str) -> dict[str, dict[str, int]]:
    """Entries, minutes and billable minutes per group, keyed as the report's rows are
    labelled in the CSV and PDF (day, week start, "user N", task id)."""
    key = {
        "day": lambda e: e["spent_on"],
        "week": lambda e: monday(e["spent_on"]),
        "user": lambda e: f"user {e['user_id']}",
        "task": lambda e: str(e["task_id"]),
    }[group_by]
    sums: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for entry in entries:
        group = sums[key(entry)]
        group["entries"] += 1
        group["minutes"] += entry["minutes"]
        group["billable"] += entry["minutes"] if entry["billable"] else 0
    return {name: dict(figures) for name, figures in sums.items()}


@pytest.mark.parametrize("group_by", GROUPS)
def test_timesheet_totals_equal_the_entries_api_in_every_format(
    group_by, team, request_report, download, task_api
):
    owner = team.people[0]
    entries = listed(task_api, owner, project_id=team.project["id"], **period())
    expected = api_sums(entries, group_by)
    total = sum(e["minutes"] for e in entries)
    assert len(entries) > 25 and len({e["user_id"] for e in entries}) == 3
    params = {"project_id": team.project["id"], "group_by": group_by, **period()}

    reports = {fmt: request_report(owner, "timesheet", params, fmt) for fmt in FORMATS}

    assert {r["status"] for r in reports.values()} == {"completed"}, reports
    _, document = download(reports["json"], owner)
    data = document["data"]
    assert (data["entries"], data["minutes"]) == (len(entries), total)
    assert data["billable_minutes"] == sum(e["minutes"] for e in entries if e["billable"])
    assert document["figures"]["Hours"] == hours(total)
    key = {"day": "day", "week": "week_start", "user": "user_id", "task": "task_id"}[group_by]
    rows = {
        (f"user {r[key]}" if group_by == "user" else str(r[key])): r
        for r in data["rows"]
        if r["entries"]
    }
    assert {k: (r["entries"], r["minutes"]) for k, r in rows.items()} == {
        k: (v["entries"], v["minutes"]) for k, v in expected.items()
    }
    if group_by == "day":
        assert len(data["rows"]) == DAYS  # every day of the period, empty ones too

    _, sections = download(reports["csv"], owner)
    figures = dict(sections["Key figures"][1:])
    assert (figures["Minutes"], figures["Entries"]) == (str(total), str(len(entries)))
    title = {"day": "Time per day", "week": "Time per week", "user": "Time per person"}
    table = sections[title.get(group_by, "Time per task")]
    header, body = table[0], table[1:]
    at = {name: header.index(name) for name in ("entries", "minutes", "billable hours")}
    label = header.index("week starting") if group_by == "week" else 0
    csv_rows = {row[label]: row for row in body if row[at["entries"]] != "0"}
    assert {
        k: (int(r[at["entries"]]), int(r[at["minutes"]]), float(r[at["billable hours"]]))
        for k, r in csv_rows.items()
    } == {k: (v["entries"], v["minutes"], hours(v["billable"])) for k, v in expected.items()}
    per_person_day = sections["Time per person per day"][1:]
    assert sum(int(row[2]) for row in per_person_day) == total

    _, text = download(reports["pdf"], owner)
    assert f"Minutes {total}" in text and f"Hours {hours(total)}" in text
    for chart in ("Hours per person per day", "Estimate vs spent per task (hours)"):
        assert chart in text
    for name, figures in expected.items():
        tail = f"{figures['entries']} {figures['minutes']} {hours(figures['minutes'])}"
        assert f"{tail} {hours(figures['billable'])}" in text, name
        assert name in text


def test_the_estimate_against_spent_per_task(team, request_report, download, task_api):
    owner = team.people[0]
    params = {"project_id": team.project["id"], **period()}
    report = request_report(owner, "timesheet", params, "csv")
    _, sections = download(report, owner)

    table = sections["Estimate vs spent: the tasks with the most time"]
    assert table[0] == ["task", "title", "estimated hours", "spent hours (all time)", "hours"]
    by_title = {row[1]: row for row in table[1:]}
    for task in team.tasks:
        all_time = task_api.get(f"/api/tasks/{task['id']}", owner)
        row = by_title[task["title"]]
        assert row[2] == ("" if task["estimated_hours"] is None else str(task["estimated_hours"]))
        assert float(row[3]) == hours(all_time["spent_minutes"])
    design = by_title["Design"]
    assert float(design[3]) == float(design[4]) + 10  # the 600 minutes before the period


def test_the_quick_view_and_who_may_see_a_timesheet(client, team, people, task_api):
    owner, second, _ = team.people
    url = "/api/reports/quick/timesheet"
    query = {"project_id": team.project["id"], "group_by": "user", **period()}

    first = client.get(url, headers=owner.headers, query_string=query)
    again = client.get(url, headers=owner.headers, query_string=query)

    assert first.status_code == 200, first.json
    assert (first.headers["X-Cache"], again.headers["X-Cache"]) == ("miss", "hit")
    assert first.json == again.json
    entries = listed(task_api, owner, project_id=team.project["id"], **period())
    assert first.json["minutes"] == sum(e["minutes"] for e in entries)
    assert {r["user_id"] for r in first.json["rows"]} == {p.id for p in team.people}
    # Your own time by default: the 7 days to today, across your projects.
    mine = client.get(url, headers=second.headers)
    assert mine.status_code == 200 and mine.json["user_id"] == second.id
    assert mine.json["until"] == today().isoformat()
    week = listed(task_api, second, user_id="me", since=mine.json["since"])
    assert mine.json["minutes"] == sum(e["minutes"] for e in week)
    assert mine.json["since"] == (today() - timedelta(days=6)).isoformat()

    outsider = client.get(url, headers=people.outsider.headers, query_string=query)
    assert outsider.status_code == 404 and outsider.mimetype == "application/problem+json"
    others = client.get(url, headers=second.headers, query_string={"user_id": owner.id})
    assert others.status_code == 403
    admin = client.get(url, headers=people.admin.headers, query_string={"user_id": owner.id})
    assert admin.status_code == 200 and admin.json["user_id"] == owner.id
    for bad in (
        {"since": today().isoformat(), "until": (today() - timedelta(days=1)).isoformat()},
        {"since": (today() - timedelta(days=400)).isoformat()},
        {"group_by": "month"},
        {"project_id": "x"},
    ):
        response = client.get(url, headers=owner.headers, query_string=bad)
        assert response.status_code == 422, bad
    refused = client.post(
        "/api/reports",
        json={"type": "timesheet", "params": {"user_id": owner.id}},
        headers=second.headers,
    )
    assert refused.status_code == 403


def test_a_timesheet_schedule_covers_the_last_week_when_it_runs(
    app, client, team, generate, download, task_api
):
    owner = team.people[0]
    body = {
        "type": "timesheet",
        "params": {"project_id": team.project["id"], "group_by": "day"},
        "format": "csv",
        "frequency": "weekly",
        "weekday": 0,
    }
    created = client.post("/api/report-schedules", json=body, headers=owner.headers)
    assert created.status_code == 201, created.json

    with app.app_context():
        [report_id] = run_schedules(datetime.fromisoformat(created.json["next_run_at"]))
    assert generate(report_id) == "completed"

    report = client.get(f"/api/reports/{report_id}", headers=owner.headers).json
    _, sections = download(report, owner)
    days = sections["Time per day"][1:]
    assert [row[0] for row in days] == [
        (today() - timedelta(days=n)).isoformat() for n in range(6, -1, -1)
    ]
    week = listed(
        task_api, owner, project_id=team.project["id"], since=days[0][0], until=days[-1][0]
    )
    assert sum(int(row[2]) for row in days) == sum(e["minutes"] for e in week)


def test_workload_and_system_reports_show_the_hours(
    team, people, request_report, download, task_api
):
    owner = team.people[0]
    in_project = listed(task_api, owner, project_id=team.project["id"])
    spent = hours(sum(e["minutes"] for e in in_project))

    workload = request_report(owner, "user_workload", {"project_id": team.project["id"]})
    _, document = download(workload, owner)
    assert document["data"]["spent_hours"] == spent
    [unassigned] = document["data"]["assignees"]  # the tasks have no assignee
    assert unassigned["spent_hours"] == spent
    assert document["figures"]["Spent hours (time entries)"] == spent

    everything = listed(task_api, people.admin, all="true")
    system = request_report(people.admin, "system_overview", {}, "csv")
    _, sections = download(system, people.admin)
    figures = dict(sections["Key figures"][1:])
    assert float(figures["Hours logged"]) == hours(sum(e["minutes"] for e in everything))
    assert int(figures["Time entries"]) == len(everything)
