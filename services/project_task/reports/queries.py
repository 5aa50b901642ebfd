"""The aggregate queries behind each report, folded into plain figures (a fixed handful
of SQL statements per report, however many tasks there are)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select

from services.common.contracts import CLOSED_STATUSES, PRIORITIES, PROJECT_STATUSES
from services.common.db import utcnow
from services.project_task.access import ROLE, visible_project_ids, with_role
from services.project_task.extensions import db
from services.project_task.models import Project, ProjectMember, Task, TimeEntry
from services.project_task.reports.tally import Tally, zeroes

WEEKS = 8
NEXT_TASKS = 10
OVERDUE_LIMIT = 10_000


def _open() -> ColumnElement[bool]:
    return Task.status.not_in(CLOSED_STATUSES)


def _overdue(today: date) -> ColumnElement[bool]:
    return and_(Task.due_date < today, _open())


def _due_this_week(today: date) -> ColumnElement[bool]:
    return and_(_open(), Task.due_date >= today, Task.due_date <= week_end(today))


def _count(condition: ColumnElement[bool] | None = None) -> Any:
    return func.count() if condition is None else func.count().filter(condition)


def _counts_overdue_due_this_week(today: date) -> tuple[Any, Any, Any]:
    """Per group: how many tasks, how many of them overdue, how many due this week."""
    return _count(), _count(_overdue(today)), _count(_due_this_week(today))


def _visible_to(user_id: int) -> ColumnElement[bool]:
    """The task is in a project ``user_id`` can see (the access rule of ``access.py``)."""
    return Task.project_id.in_(visible_project_ids(user_id))


def _in_workspace(workspace_id: int) -> ColumnElement[bool]:
    return Task.project_id.in_(select(Project.id).where(Project.workspace_id == workspace_id))


def _add_counts(counts: dict[str, int], name: str, count: int) -> None:
    counts[name] = counts.get(name, 0) + count


def hours_of(minutes: int | None) -> float:
    """Minutes as hours, to two places."""
    return round((minutes or 0) / 60, 2)


def week_end(today: date) -> date:
    """Sunday of ``today``'s ISO week."""
    return today + timedelta(days=6 - today.weekday())


_TASK_LINE = (
    Task.id,
    Task.title,
    Task.project_id,
    Task.status,
    Task.priority,
    Task.assignee_id,
    Task.due_date,
)


def dashboard(user_id: int, today: date) -> dict[str, Any]:
    """The projects ``user_id`` can see, the figures of their tasks and the user's own
    open tasks."""
    projects = db.session.execute(
        with_role(
            select(Project.id, Project.name, Project.status, ROLE.label("role")),
            Project.id,
            user_id,
        )
        .where(Project.id.in_(visible_project_ids(user_id)))
        .order_by(Project.id)
    ).all()
    rows = db.session.execute(
        select(Task.project_id, Task.status, *_counts_overdue_due_this_week(today))
        .where(_visible_to(user_id))
        .group_by(Task.project_id, Task.status)
    ).all()
    mine = db.session.execute(
        select(Task.priority, _count(), _count(Task.due_date < today))
        .where(_visible_to(user_id), Task.assignee_id == user_id, _open())
        .group_by(Task.priority)
    ).all()
    next_tasks = db.session.execute(
        select(*_TASK_LINE)
        .where(_visible_to(user_id), Task.assignee_id == user_id, _open())
        .order_by(Task.due_date.is_(None), Task.due_date, Task.id)
        .limit(NEXT_TASKS)
    ).all()

    per_project = {row.id: Tally() for row in projects}
    everything = Tally()
    due_week = 0
    for project_id, status, count, late, this_week in rows:
        everything.add(status, count, late)
        due_week += this_week
        if project_id in per_project:
            per_project[project_id].add(status, count, late)
    by_priority = zeroes(PRIORITIES)
    for priority, count, _ in mine:
        _add_counts(by_priority, priority, count)
    return {
        "user_id": user_id,
        "today": today,
        "week_end": week_end(today),
        "project_count": len(per_project),
        "projects": [
            {
                **row._asdict(),
                "task_count": tally.total,
                "open": tally.open,
                "done": tally.done,
                "overdue": tally.overdue,
            }
            for row, tally in ((row, per_project[row.id]) for row in projects)
        ],
        "tasks": everything.figures(due_this_week=due_week),
        "my_open_tasks": {
            "total": sum(by_priority.values()),
            "overdue": sum(row[2] for row in mine),
            "by_priority": by_priority,
            "next": [row._asdict() for row in next_tasks],
        },
    }


def _week_starts(today: date) -> list[datetime]:
    """Midnight UTC of the Mondays of the last ``WEEKS`` ISO weeks, oldest first."""
    monday = today - timedelta(days=today.weekday())
    return [
        datetime.combine(monday - timedelta(weeks=back), time.min, tzinfo=UTC)
        for back in range(WEEKS - 1, -1, -1)
    ]


def _weekly(project_id: int, today: date) -> list[dict[str, Any]]:
    """Tasks created and completed in each of the last eight ISO weeks (one query)."""
    starts = _week_starts(today)
    ends = [*starts[1:], starts[-1] + timedelta(weeks=1)]
    columns = []
    for start, end in zip(starts, ends, strict=True):
        columns.append(_count(and_(Task.created_at >= start, Task.created_at < end)))
        columns.append(_count(and_(Task.completed_at >= start, Task.completed_at < end)))
    row = db.session.execute(
        select(*columns).where(
            Task.project_id == project_id,
            or_(Task.created_at >= starts[0], Task.completed_at >= starts[0]),
        )
    ).one()
    return [
        {"week_start": start.date(), "created": row[2 * i], "completed": row[2 * i + 1]}
        for i, start in enumerate(starts)
    ]


def _per_assignee(*conditions: ColumnElement[bool], today: date) -> tuple[list[Any], Tally]:
    """The figures of each assignee of the tasks matching ``conditions``, those with the
    most open tasks first (unassigned last); and the tally of all of them."""
    rows = db.session.execute(
        select(
            Task.assignee_id,
            Task.status,
            _count(),
            _count(_overdue(today)),
            func.sum(Task.estimated_hours).filter(_open()),
            func.sum(Task.spent_minutes),
        )
        .where(*conditions)
        .group_by(Task.assignee_id, Task.status)
    ).all()
    tallies: dict[int | None, Tally] = {}
    estimated: dict[int | None, float] = {}
    spent: dict[int | None, int] = {}
    everything = Tally()
    for assignee_id, status, count, late, hours, minutes in rows:
        tallies.setdefault(assignee_id, Tally()).add(status, count, late)
        estimated[assignee_id] = estimated.get(assignee_id, 0.0) + float(hours or 0)
        spent[assignee_id] = spent.get(assignee_id, 0) + int(minutes or 0)
        everything.add(status, count)
    people = [
        {
            "assignee_id": assignee_id,
            **tally.counts(),
            "estimated_hours_open": estimated[assignee_id],
            "spent_hours": hours_of(spent[assignee_id]),
            "spent_minutes": spent[assignee_id],  # for exact totals (not in the contract)
        }
        for assignee_id, tally in tallies.items()
    ]
    people.sort(key=lambda e: (e["assignee_id"] is None, -e["open"], e["assignee_id"] or 0))
    return people, everything


def project_summary(project: Project, today: date) -> dict[str, Any]:
    """One project's figures by status, priority and assignee, and its last eight weeks."""
    grouped = db.session.execute(
        select(
            Task.priority,
            _count(),
            _count(_overdue(today)),
            func.sum(Task.estimated_hours),
            func.sum(Task.actual_hours),
            func.sum(Task.spent_minutes),
        )
        .where(Task.project_id == project.id)
        .group_by(Task.status, Task.priority)
    ).all()
    by_priority = zeroes(PRIORITIES)
    overdue = spent = 0
    estimated = actual = 0.0
    for priority, count, late, est, act, minutes in grouped:
        _add_counts(by_priority, priority, count)
        overdue += late
        estimated += float(est or 0)
        actual += float(act or 0)
        spent += int(minutes or 0)
    assignees, tally = _per_assignee(Task.project_id == project.id, today=today)
    return {
        "project": project,
        "today": today,
        "total": tally.total,
        "open": tally.open,
        "overdue": overdue,
        "completion_rate": tally.completion_rate,
        "estimated_hours": round(estimated, 2),
        "actual_hours": round(actual, 2),
        "spent_hours": hours_of(spent),
        "by_status": tally.by_status,
        "by_priority": by_priority,
        "by_assignee": assignees,
        "weekly": _weekly(project.id, today),
    }


def user_workload(
    user_id: int | None,
    project_id: int | None,
    today: date,
    workspace_id: int | None = None,
    viewer_id: int | None = None,
) -> dict[str, Any]:
    """Tasks per assignee: of ``user_id`` (None: everybody), optionally in one project or
    in the projects of one workspace, optionally only those ``viewer_id`` can see."""
    conditions: list[ColumnElement[bool]] = []
    if user_id is not None:
        conditions.append(Task.assignee_id == user_id)
    if project_id is not None:
        conditions.append(Task.project_id == project_id)
    if workspace_id is not None:
        conditions.append(_in_workspace(workspace_id))
    if viewer_id is not None:
        conditions.append(_visible_to(viewer_id))
    assignees, tally = _per_assignee(*conditions, today=today)
    by_project = db.session.execute(
        select(
            Task.project_id,
            Task.assignee_id,
            _count(),
            _count(_open()),
            _count(_overdue(today)),
        )
        .where(*conditions)
        .group_by(Task.project_id, Task.assignee_id)
        .order_by(Task.project_id, Task.assignee_id.is_(None), Task.assignee_id)
    ).all()
    return {
        "user_id": user_id,
        "project_id": project_id,
        "workspace_id": workspace_id,
        "today": today,
        "total": tally.total,
        "open": tally.open,
        "overdue": sum(a["overdue"] for a in assignees),
        "spent_hours": hours_of(sum(a["spent_minutes"] for a in assignees)),
        "assignees": assignees,
        "by_project": [
            {"project_id": p, "assignee_id": a, "total": t, "open": o, "overdue": late}
            for p, a, t, o, late in by_project
        ],
    }


def overdue_tasks(
    user_id: int | None,
    project_id: int | None,
    assignee_id: int | None,
    today: date,
    workspace_id: int | None = None,
) -> dict[str, Any]:
    """Overdue tasks, most overdue first: in ``project_id``, in the projects of
    ``workspace_id``, in the projects ``user_id`` can see, or everywhere (the conditions
    given all hold); optionally only those of ``assignee_id``."""
    conditions: list[ColumnElement[bool]] = [_overdue(today)]
    if project_id is not None:
        conditions.append(Task.project_id == project_id)
    if workspace_id is not None:
        conditions.append(_in_workspace(workspace_id))
    if assignee_id is not None:
        conditions.append(Task.assignee_id == assignee_id)
    if user_id is not None:
        conditions.append(_visible_to(user_id))
    counts = db.session.execute(
        select(Task.project_id, Task.priority, _count())
        .where(*conditions)
        .group_by(Task.project_id, Task.priority)
    ).all()
    tasks = db.session.execute(
        select(*_TASK_LINE).where(*conditions).order_by(Task.due_date, Task.id).limit(OVERDUE_LIMIT)
    ).all()
    by_priority = zeroes(PRIORITIES)
    by_project: dict[int, int] = {}
    for project, priority, count in counts:
        _add_counts(by_priority, priority, count)
        by_project[project] = by_project.get(project, 0) + count
    total = sum(by_priority.values())
    return {
        "user_id": user_id,
        "project_id": project_id,
        "workspace_id": workspace_id,
        "assignee_id": assignee_id,
        "today": today,
        "total": total,
        "truncated": total > len(tasks),
        "by_priority": by_priority,
        "by_project": [{"project_id": p, "count": c} for p, c in sorted(by_project.items())],
        "tasks": [{**row._asdict(), "days_overdue": (today - row.due_date).days} for row in tasks],
    }


def _time_figures(today: date) -> dict[str, Any]:
    """Time logged on the whole platform, in hours (one aggregate)."""
    minutes = TimeEntry.minutes
    row = db.session.execute(
        select(
            func.count(),
            func.sum(minutes),
            func.sum(minutes).filter(TimeEntry.billable.is_(True)),
            func.sum(minutes).filter(TimeEntry.spent_on > today - timedelta(days=7)),
            func.sum(minutes).filter(TimeEntry.spent_on > today - timedelta(days=30)),
            func.count(func.distinct(TimeEntry.user_id)),
        )
    ).one()
    entries, total, billable, last_7, last_30, people = row
    return {
        "entries": entries,
        "hours": hours_of(total),
        "billable_hours": hours_of(billable),
        "hours_last_7_days": hours_of(last_7),
        "hours_last_30_days": hours_of(last_30),
        "people": people,
    }


def system(today: date) -> dict[str, Any]:
    """Platform-wide counts: projects, members, tasks and time logged."""
    now = utcnow()
    project_rows = db.session.execute(
        select(Project.status, _count()).group_by(Project.status)
    ).all()
    members = db.session.scalar(select(func.count(func.distinct(ProjectMember.user_id))))
    task_rows = db.session.execute(
        select(
            Task.status,
            Task.priority,
            *_counts_overdue_due_this_week(today),
            _count(Task.created_at >= now - timedelta(days=7)),
            _count(Task.created_at >= now - timedelta(days=30)),
        ).group_by(Task.status, Task.priority)
    ).all()
    projects_by_status = zeroes(PROJECT_STATUSES)
    for status, count in project_rows:
        _add_counts(projects_by_status, status, count)
    tally = Tally()
    by_priority = zeroes(PRIORITIES)
    for status, priority, count, late, *_ in task_rows:
        tally.add(status, count, late)
        _add_counts(by_priority, priority, count)
    return {
        "today": today,
        "projects": sum(projects_by_status.values()),
        "projects_by_status": projects_by_status,
        "members": members or 0,
        "tasks": tally.figures(due_this_week=sum(row[4] for row in task_rows)),
        "tasks_by_priority": by_priority,
        "created_last_7_days": sum(row[5] for row in task_rows),
        "created_last_30_days": sum(row[6] for row in task_rows),
        "time": _time_figures(today),
    }
