"""What a report says, whatever its format: a title, key figures, tables and charts,
built from one aggregate answer of the owning service (see :mod:`sources`), loaded with
its contract (:mod:`services.common.report_contract`).

``build(requester, type, params)`` fetches the data with one call and lays it out; the
renderers in :mod:`formats` turn the same :class:`Document` into JSON, CSV or PDF, so
the three formats always agree. A document's ``data`` is the answer dumped again with
its contract: what the owning service sent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import marshmallow as ma

from services.common.contracts import PRIORITIES, TASK_STATUSES
from services.common.report_contract import (
    ActivitySummarySchema,
    OverdueSchema,
    ProjectSummarySchema,
    SystemSchema,
    TimesheetSchema,
    WorkloadSchema,
)
from services.reporting import access, sources
from services.reporting.access import Requester

CHART_BARS = 12


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[Any]]


@dataclass
class Chart:
    """Bars per category; one series, or several side by side (with a legend)."""

    title: str
    categories: list[str]
    series: list[tuple[str, list[float]]]
    value_format: str = "%d"


@dataclass
class Document:
    title: str
    subtitle: str
    data: dict[str, Any]
    figures: list[tuple[str, Any]] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)


def percent(rate: float) -> str:
    return f"{rate * 100:.1f}%"


def person(user_id: int | None) -> str:
    return "unassigned" if user_id is None else f"user {user_id}"


def _counts_table(title: str, heading: str, counts: dict[str, int], order: tuple[str, ...]):
    names = [*order, *sorted(set(counts) - set(order))]
    return Table(title, [heading, "tasks"], [[name, counts.get(name, 0)] for name in names])


def _counts_chart(title: str, table: Table) -> Chart:
    return Chart(
        title, [str(row[0]) for row in table.rows], [("tasks", [row[1] for row in table.rows])]
    )


def _assignee_table(title: str, assignees: list[dict[str, Any]]) -> Table:
    return Table(
        title,
        ["assignee", "total", "open", "done", "overdue", "estimated hours open", "spent hours"],
        [
            [
                person(a["assignee_id"]),
                a["total"],
                a["open"],
                a["done"],
                a["overdue"],
                round(a["estimated_hours_open"], 2),
                a["spent_hours"],
            ]
            for a in assignees
        ],
    )


def _assignee_chart(title: str, assignees: list[dict[str, Any]], measure: str) -> Chart:
    top = sorted(assignees, key=lambda a: -a[measure])[:CHART_BARS]
    return Chart(
        title,
        [person(a["assignee_id"]) for a in top],
        [(measure, [a[measure] for a in top])],
    )


def project_summary(requester: Requester, params: dict[str, Any]) -> Document | None:
    data = sources.project_summary(params["project_id"])
    if data is None:
        return None
    project = data["project"]
    by_status = _counts_table("Tasks by status", "status", data["by_status"], TASK_STATUSES)
    by_priority = _counts_table("Tasks by priority", "priority", data["by_priority"], PRIORITIES)
    weekly = Table(
        "Created vs completed per week",
        ["week starting", "created", "completed"],
        [[w["week_start"], w["created"], w["completed"]] for w in data["weekly"]],
    )
    return Document(
        title=f"Project summary: {project['name']}",
        subtitle=f"Project {project['id']} ({project['status']}), as of {data['today']}",
        data=data,
        figures=[
            ("Total tasks", data["total"]),
            ("Open tasks", data["open"]),
            ("Overdue tasks", data["overdue"]),
            ("Completion rate", percent(data["completion_rate"])),
            ("Estimated hours", data["estimated_hours"]),
            ("Actual hours (typed)", data["actual_hours"]),
            ("Spent hours (time entries)", data["spent_hours"]),
        ],
        tables=[
            by_status,
            by_priority,
            _assignee_table("Tasks per assignee", data["by_assignee"]),
            weekly,
        ],
        charts=[
            _counts_chart("Tasks by status", by_status),
            _counts_chart("Tasks by priority", by_priority),
            _assignee_chart("Tasks per assignee", data["by_assignee"], "total"),
            Chart(
                "Created vs completed per week",
                [str(w["week_start"])[5:] for w in data["weekly"]],
                [
                    ("created", [w["created"] for w in data["weekly"]]),
                    ("completed", [w["completed"] for w in data["weekly"]]),
                ],
            ),
        ],
    )


def user_workload(requester: Requester, params: dict[str, Any]) -> Document:
    project_id = params.get("project_id")
    workspace_id = params.get("workspace_id")
    user_id = params.get("user_id")
    scoped = project_id is not None or workspace_id is not None
    if user_id is None and not (requester.is_admin or scoped):
        user_id = requester.id
    viewer_id = None if requester.is_admin or workspace_id is None else requester.id
    data = sources.user_workload(user_id, project_id, workspace_id, viewer_id)
    scope = [f"project {project_id}" if project_id else "all your projects"]
    if workspace_id is not None:
        scope = [f"workspace {workspace_id}"]
    elif requester.is_admin and not project_id:
        scope = ["every project"]
    if user_id is not None:
        scope.append(person(user_id))
    by_status: dict[str, int] = {}
    for assignee in data["assignees"]:
        for status, count in assignee["by_status"].items():
            by_status[status] = by_status.get(status, 0) + count
    status_table = _counts_table("Tasks by status", "status", by_status, TASK_STATUSES)
    return Document(
        title="User workload",
        subtitle=f"{', '.join(scope)}, as of {data['today']}",
        data=data,
        figures=[
            ("Total tasks", data["total"]),
            ("Open tasks", data["open"]),
            ("Overdue tasks", data["overdue"]),
            ("Assignees", len(data["assignees"])),
            ("Spent hours (time entries)", data["spent_hours"]),
        ],
        tables=[
            _assignee_table("Workload per assignee", data["assignees"]),
            status_table,
            Table(
                "Per project",
                ["project", "assignee", "total", "open", "overdue"],
                [
                    [p["project_id"], person(p["assignee_id"]), p["total"], p["open"], p["overdue"]]
                    for p in data["by_project"]
                ],
            ),
        ],
        charts=[
            _assignee_chart("Open tasks per assignee", data["assignees"], "open"),
            _counts_chart("Tasks by status", status_table),
        ],
    )


def overdue_tasks(requester: Requester, params: dict[str, Any]) -> Document:
    project_id = params.get("project_id")
    workspace_id = params.get("workspace_id")
    member_id = None if project_id is not None or requester.is_admin else requester.id
    data = sources.overdue(member_id, project_id, params.get("assignee_id"), workspace_id)
    by_priority = _counts_table("Overdue by priority", "priority", data["by_priority"], PRIORITIES)
    by_project = Table(
        "Overdue by project",
        ["project", "tasks"],
        [[p["project_id"], p["count"]] for p in data["by_project"]],
    )
    scope = f"project {project_id}" if project_id else "every project"
    if workspace_id is not None:
        scope = f"workspace {workspace_id}"
    elif member_id is not None:
        scope = "your projects"
    return Document(
        title="Overdue tasks",
        subtitle=f"{scope}, as of {data['today']}",
        data=data,
        figures=[("Overdue tasks", data["total"]), ("Listed", len(data["tasks"]))],
        tables=[
            by_priority,
            by_project,
            Table(
                "Overdue tasks",
                ["id", "title", "project", "assignee", "priority", "status", "due", "days overdue"],
                [
                    [
                        t["id"],
                        t["title"],
                        t["project_id"],
                        person(t["assignee_id"]),
                        t["priority"],
                        t["status"],
                        t["due_date"],
                        t["days_overdue"],
                    ]
                    for t in data["tasks"]
                ],
            ),
        ],
        charts=[
            _counts_chart("Overdue by priority", by_priority),
            Chart(
                "Overdue by project",
                [f"project {row[0]}" for row in by_project.rows[:CHART_BARS]],
                [("tasks", [row[1] for row in by_project.rows[:CHART_BARS]])],
            ),
        ],
    )


def activity_summary(requester: Requester, params: dict[str, Any]) -> Document:
    project_id = params.get("project_id")
    data = sources.activity_summary(project_id, params["days"])
    by_action = Table(
        "Entries by action",
        ["action", "entries"],
        [[a["action"], a["count"]] for a in data["by_action"]],
    )
    by_day = Table(
        "Entries by day", ["day", "entries"], [[d["day"], d["count"]] for d in data["by_day"]]
    )
    scope = f"project {project_id}" if project_id else "the whole platform"
    return Document(
        title="Activity summary",
        subtitle=f"{scope}, last {data['days']} days",
        data=data,
        figures=[("Total entries", data["total"]), ("Days", data["days"])],
        tables=[by_action, by_day],
        charts=[
            Chart(
                "Entries by action",
                [row[0] for row in by_action.rows[:CHART_BARS]],
                [("entries", [row[1] for row in by_action.rows[:CHART_BARS]])],
            ),
            Chart(
                "Entries by day",
                [str(row[0])[5:] for row in by_day.rows],
                [("entries", [row[1] for row in by_day.rows])],
            ),
        ],
    )


def system_overview(requester: Requester, params: dict[str, Any]) -> Document:
    data = sources.system()
    tasks = data["tasks"]
    by_status = _counts_table("Tasks by status", "status", tasks["by_status"], TASK_STATUSES)
    by_priority = _counts_table(
        "Tasks by priority", "priority", data["tasks_by_priority"], PRIORITIES
    )
    projects = Table(
        "Projects by status",
        ["status", "projects"],
        [[k, v] for k, v in data["projects_by_status"].items()],
    )
    return Document(
        title="System overview",
        subtitle=f"Every project, as of {data['today']}",
        data=data,
        figures=[
            ("Projects", data["projects"]),
            ("Members", data["members"]),
            ("Total tasks", tasks["total"]),
            ("Open tasks", tasks["open"]),
            ("Overdue tasks", tasks["overdue"]),
            ("Due this week", tasks["due_this_week"]),
            ("Completion rate", percent(tasks["completion_rate"])),
            ("Created in the last 7 days", data["created_last_7_days"]),
            ("Created in the last 30 days", data["created_last_30_days"]),
            ("Hours logged", data["time"]["hours"]),
            ("Billable hours", data["time"]["billable_hours"]),
            ("Hours logged in the last 7 days", data["time"]["hours_last_7_days"]),
            ("Hours logged in the last 30 days", data["time"]["hours_last_30_days"]),
            ("Time entries", data["time"]["entries"]),
            ("People logging time", data["time"]["people"]),
        ],
        tables=[projects, by_status, by_priority],
        charts=[
            _counts_chart("Tasks by status", by_status),
            _counts_chart("Tasks by priority", by_priority),
            Chart(
                "Projects by status",
                [r[0] for r in projects.rows],
                [("projects", [r[1] for r in projects.rows])],
            ),
        ],
    )


def hours(minutes: int) -> float:
    return round(minutes / 60, 2)


def _time(row: dict[str, Any]) -> list[Any]:
    return [row["entries"], row["minutes"], hours(row["minutes"]), hours(row["billable_minutes"])]


_TIME_COLUMNS = ["entries", "minutes", "hours", "billable hours"]
# The chart of hours per person: per day up to a month, per week beyond; so many people.
CHART_DAYS = 31
CHART_PEOPLE = 5


def _timesheet_rows(data: dict[str, Any]) -> Table:
    group_by, rows = data["group_by"], data["rows"]
    if group_by == "day":
        return Table("Time per day", ["day", *_TIME_COLUMNS], [[r["day"], *_time(r)] for r in rows])
    if group_by == "week":
        return Table(
            "Time per week",
            ["week", "week starting", *_TIME_COLUMNS],
            [[iso_week(r["week_start"]), r["week_start"], *_time(r)] for r in rows],
        )
    if group_by == "user":
        return Table(
            "Time per person",
            ["person", *_TIME_COLUMNS],
            [[person(r["user_id"]), *_time(r)] for r in rows],
        )
    return Table(
        "Time per task",
        ["task", "title", "estimated hours", "spent hours (all time)", *_TIME_COLUMNS],
        [
            [r["task_id"], r["title"], r["estimated_hours"], hours(r["spent_minutes"]), *_time(r)]
            for r in rows
        ],
    )


def iso_week(monday: Any) -> str:
    year, week, _ = date.fromisoformat(str(monday)).isocalendar()
    return f"{year}-W{week:02d}"


def _people_chart(data: dict[str, Any], since: date, until: date) -> Chart:
    """Hours per person per day (per ISO week when the period is over a month): the
    people with the most time, the others together."""
    per_day = (until - since).days < CHART_DAYS
    step = timedelta(days=1 if per_day else 7)

    def slot_of(day: Any) -> date:
        day = date.fromisoformat(str(day))
        return day if per_day else day - timedelta(days=day.weekday())

    slots = [slot_of(since)]
    while slots[-1] + step <= until:
        slots.append(slots[-1] + step)
    index = {slot: n for n, slot in enumerate(slots)}
    people = {p["user_id"]: p["days"] for p in data["per_user_day"]}
    totals = {user: sum(days.values()) for user, days in people.items()}
    ranked = sorted(totals, key=lambda user: (-totals[user], user))
    shown = ranked if len(ranked) <= CHART_PEOPLE else ranked[: CHART_PEOPLE - 1]
    names = {user: person(user) for user in shown}
    series = {name: [0.0] * len(slots) for name in [*names.values(), "others"]}
    for user, days in people.items():
        values = series[names.get(user, "others")]
        for day, minutes in days.items():
            values[index[slot_of(day)]] += minutes / 60
    if len(ranked) == len(shown):
        del series["others"]
    labels = [slot.isoformat()[5:] if per_day else iso_week(slot) for slot in slots]
    return Chart(
        f"Hours per person per {'day' if per_day else 'week'}",
        labels,
        [(name, [round(v, 2) for v in values]) for name, values in series.items()]
        or [("hours", [0.0] * len(slots))],
        value_format="%.1f",
    )


def timesheet(requester: Requester, params: dict[str, Any]) -> Document:
    query = access.timesheet_query(requester, params)
    data = sources.timesheet(query)
    since, until = query["since"], query["until"]
    scope = [f"project {query['project_id']}"] if query["project_id"] else []
    if query["user_id"] is not None:
        scope.insert(0, person(query["user_id"]))
    top = data["top_tasks"]
    return Document(
        title="Timesheet",
        subtitle=f"{' in '.join(scope)}, {since} to {until}, per {data['group_by']}",
        data=data,
        figures=[
            ("Hours", hours(data["minutes"])),
            ("Minutes", data["minutes"]),
            ("Billable hours", hours(data["billable_minutes"])),
            ("Entries", data["entries"]),
            ("People", data["users"]),
            ("Tasks", data["tasks"]),
            ("Days", (until - since).days + 1),
        ],
        tables=[
            _timesheet_rows(data),
            Table(
                "Time per person per day",
                ["day", "person", "minutes", "hours"],
                [
                    [day, person(user), minutes, hours(minutes)]
                    for day, user, minutes in sorted(
                        (day, p["user_id"], minutes)
                        for p in data["per_user_day"]
                        for day, minutes in p["days"].items()
                    )
                ],
            ),
            Table(
                "Estimate vs spent: the tasks with the most time",
                ["task", "title", "estimated hours", "spent hours (all time)", "hours"],
                [
                    [
                        t["task_id"],
                        t["title"],
                        t["estimated_hours"],
                        hours(t["spent_minutes"]),
                        hours(t["minutes"]),
                    ]
                    for t in top
                ],
            ),
        ],
        charts=[
            _people_chart(data, since, until),
            Chart(
                "Estimate vs spent per task (hours)",
                [f"#{t['task_id']}" for t in top],
                [
                    ("estimated", [t["estimated_hours"] or 0 for t in top]),
                    ("spent", [hours(t["spent_minutes"]) for t in top]),
                ],
                value_format="%.1f",
            ),
        ],
    )


BUILDERS: dict[str, Callable[[Requester, dict[str, Any]], Document | None]] = {
    "project_summary": project_summary,
    "user_workload": user_workload,
    "overdue_tasks": overdue_tasks,
    "activity_summary": activity_summary,
    "system_overview": system_overview,
    "timesheet": timesheet,
}

# The contract each report's data was loaded with, and is dumped with again.
CONTRACTS: dict[str, type[ma.Schema]] = {
    "project_summary": ProjectSummarySchema,
    "user_workload": WorkloadSchema,
    "overdue_tasks": OverdueSchema,
    "activity_summary": ActivitySummarySchema,
    "system_overview": SystemSchema,
    "timesheet": TimesheetSchema,
}


def build(requester: Requester, report_type: str, params: dict[str, Any]) -> Document | None:
    """The report's document, from one call to the service that owns its data; None when
    the project it is about is gone."""
    document = BUILDERS[report_type](requester, params)
    if document is not None:
        document.data = CONTRACTS[report_type]().dump(document.data)
    return document
