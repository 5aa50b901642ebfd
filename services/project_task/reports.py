"""Aggregates for the reporting service (``X-Service-Token``; nginx never routes them).

Every figure is a SQL aggregate (``GROUP BY`` and ``COUNT(*) FILTER``), never a loop over
task rows, and uses the same definitions as the task API, so a report's numbers equal what
the API's lists count:

- *open*: status not ``done`` or ``cancelled``;
- *overdue*: open with a due date before today (UTC), as ``?overdue=true``;
- *due this week*: open with a due date from today to this ISO week's Sunday;
- *completion rate*: done / (all tasks - cancelled), 0 when there is none.

Access is the caller's business: the reporting service checks who may see what (through
``/internal/projects/{id}/access``) before it asks for a project's figures. ``user_id``
is taken literally, as on the other internal endpoints.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import marshmallow as ma
from flask import Blueprint, request
from sqlalchemy import ColumnElement, and_, func, or_, select

from services.common.contracts import CLOSED_STATUSES, PRIORITIES, PROJECT_STATUSES, TASK_STATUSES
from services.common.db import utcnow
from services.common.errors import abort
from services.common.http import require_service_token
from services.common.report_contract import (
    AssigneeFiguresSchema,
    CountsField,
    DashboardSchema,
    ProjectSummarySchema,
    TaskFiguresSchema,
    TaskLineSchema,
)
from services.project_task.extensions import db
from services.project_task.models import Project, ProjectMember, Task

blueprint = Blueprint("internal_reports", __name__, url_prefix="/internal/reports")

WEEKS = 8
NEXT_TASKS = 10
OVERDUE_LIMIT = 10_000


class WorkloadProjectSchema(ma.Schema):
    project_id = ma.fields.Integer()
    assignee_id = ma.fields.Integer(allow_none=True)
    total = ma.fields.Integer()
    open = ma.fields.Integer()
    overdue = ma.fields.Integer()


class WorkloadSchema(ma.Schema):
    user_id = ma.fields.Integer(allow_none=True)
    project_id = ma.fields.Integer(allow_none=True)
    today = ma.fields.Date()
    total = ma.fields.Integer()
    open = ma.fields.Integer()
    overdue = ma.fields.Integer()
    assignees = ma.fields.List(ma.fields.Nested(AssigneeFiguresSchema))
    by_project = ma.fields.List(ma.fields.Nested(WorkloadProjectSchema))


class OverdueTaskSchema(TaskLineSchema):
    days_overdue = ma.fields.Integer()


class ProjectCountSchema(ma.Schema):
    project_id = ma.fields.Integer()
    count = ma.fields.Integer()


class OverdueSchema(ma.Schema):
    user_id = ma.fields.Integer(allow_none=True)
    project_id = ma.fields.Integer(allow_none=True)
    assignee_id = ma.fields.Integer(allow_none=True)
    today = ma.fields.Date()
    total = ma.fields.Integer()
    truncated = ma.fields.Boolean()
    by_priority = CountsField()
    by_project = ma.fields.List(ma.fields.Nested(ProjectCountSchema))
    tasks = ma.fields.List(ma.fields.Nested(OverdueTaskSchema))


class SystemSchema(ma.Schema):
    today = ma.fields.Date()
    projects = ma.fields.Integer()
    projects_by_status = CountsField()
    members = ma.fields.Integer()
    tasks = ma.fields.Nested(TaskFiguresSchema)
    tasks_by_priority = CountsField()
    created_last_7_days = ma.fields.Integer()
    created_last_30_days = ma.fields.Integer()


def _open() -> ColumnElement[bool]:
    return Task.status.not_in(CLOSED_STATUSES)


def _overdue(today: date) -> ColumnElement[bool]:
    return and_(Task.due_date < today, _open())


def _count(condition: ColumnElement[bool] | None = None) -> Any:
    return func.count() if condition is None else func.count().filter(condition)


def _zeroes(names: tuple[str, ...]) -> dict[str, int]:
    return dict.fromkeys(names, 0)


def completion_rate(by_status: dict[str, int]) -> float:
    """done / (all - cancelled), to four places; 0 when nothing counts."""
    counted = sum(by_status.values()) - by_status.get("cancelled", 0)
    return round(by_status.get("done", 0) / counted, 4) if counted else 0.0


def _week_end(today: date) -> date:
    return today + timedelta(days=6 - today.weekday())


def _member_of(user_id: int) -> ColumnElement[bool]:
    return and_(ProjectMember.project_id == Task.project_id, ProjectMember.user_id == user_id)


def _int_argument(name: str, *, required: bool = False) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        if required:
            abort(422, f"Give {name}.", errors={name: ["Missing data for required field."]})
        return None
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        abort(422, f"{name} must be a positive integer.", errors={name: ["A positive integer."]})
    return value


@blueprint.get("/dashboard")
@require_service_token
def dashboard():
    """The quick dashboard of ``user_id``: their projects, task figures and open tasks."""
    user_id = _int_argument("user_id", required=True)
    today = utcnow().date()
    week_end = _week_end(today)
    projects = db.session.execute(
        select(Project.id, Project.name, Project.status, ProjectMember.role)
        .join(ProjectMember, ProjectMember.project_id == Project.id)
        .where(ProjectMember.user_id == user_id)
        .order_by(Project.id)
    ).all()
    due_this_week = and_(_open(), Task.due_date >= today, Task.due_date <= week_end)
    rows = db.session.execute(
        select(
            Task.project_id,
            Task.status,
            _count(),
            _count(_overdue(today)),
            _count(due_this_week),
        )
        .join(ProjectMember, _member_of(user_id))
        .group_by(Task.project_id, Task.status)
    ).all()
    mine = db.session.execute(
        select(Task.priority, _count(), _count(Task.due_date < today))
        .join(ProjectMember, _member_of(user_id))
        .where(Task.assignee_id == user_id, _open())
        .group_by(Task.priority)
    ).all()
    next_tasks = db.session.execute(
        select(
            Task.id,
            Task.title,
            Task.project_id,
            Task.status,
            Task.priority,
            Task.assignee_id,
            Task.due_date,
        )
        .join(ProjectMember, _member_of(user_id))
        .where(Task.assignee_id == user_id, _open())
        .order_by(Task.due_date.is_(None), Task.due_date, Task.id)
        .limit(NEXT_TASKS)
    ).all()

    per_project = {
        row.id: {**row._asdict(), "task_count": 0, "open": 0, "done": 0, "overdue": 0}
        for row in projects
    }
    by_status = _zeroes(TASK_STATUSES)
    overdue = due_week = 0
    for project_id, status, count, late, this_week in rows:
        by_status[status] = by_status.get(status, 0) + count
        overdue += late
        due_week += this_week
        figures = per_project.get(project_id)
        if figures is not None:
            figures["task_count"] += count
            figures["open"] += 0 if status in CLOSED_STATUSES else count
            figures["done"] += count if status == "done" else 0
            figures["overdue"] += late
    by_priority = _zeroes(PRIORITIES)
    for priority, count, _ in mine:
        by_priority[priority] = by_priority.get(priority, 0) + count
    total = sum(by_status.values())
    return DashboardSchema().dump(
        {
            "user_id": user_id,
            "today": today,
            "week_end": week_end,
            "project_count": len(per_project),
            "projects": list(per_project.values()),
            "tasks": {
                "total": total,
                "open": total - sum(by_status.get(s, 0) for s in CLOSED_STATUSES),
                "overdue": overdue,
                "due_this_week": due_week,
                "completion_rate": completion_rate(by_status),
                "by_status": by_status,
            },
            "my_open_tasks": {
                "total": sum(by_priority.values()),
                "overdue": sum(row[2] for row in mine),
                "by_priority": by_priority,
                "next": [row._asdict() for row in next_tasks],
            },
        }
    )


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


def _assignee_figures(
    rows: list[Any], key: str = "assignee_id"
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Fold ``(assignee_id, status, count, overdue, estimated_open)`` rows per assignee;
    also the totals by status."""
    people: dict[Any, dict[str, Any]] = {}
    by_status = _zeroes(TASK_STATUSES)
    for assignee_id, status, count, late, estimated in rows:
        entry = people.setdefault(
            assignee_id,
            {
                key: assignee_id,
                "total": 0,
                "open": 0,
                "done": 0,
                "overdue": 0,
                "by_status": _zeroes(TASK_STATUSES),
                "estimated_hours_open": 0.0,
            },
        )
        entry["total"] += count
        entry["open"] += 0 if status in CLOSED_STATUSES else count
        entry["done"] += count if status == "done" else 0
        entry["overdue"] += late
        entry["by_status"][status] = entry["by_status"].get(status, 0) + count
        entry["estimated_hours_open"] += float(estimated or 0)
        by_status[status] = by_status.get(status, 0) + count
    ordered = sorted(people.values(), key=lambda e: (e[key] is None, -e["open"], e[key] or 0))
    return ordered, by_status


def _assignee_rows(*conditions: ColumnElement[bool], today: date) -> list[Any]:
    return db.session.execute(
        select(
            Task.assignee_id,
            Task.status,
            _count(),
            _count(_overdue(today)),
            func.sum(Task.estimated_hours).filter(_open()),
        )
        .where(*conditions)
        .group_by(Task.assignee_id, Task.status)
    ).all()


@blueprint.get("/project-summary/<int:project_id>")
@require_service_token
def project_summary(project_id: int):
    """One project's figures by status, priority and assignee, and its last eight weeks."""
    project = db.session.get(Project, project_id)
    if project is None:
        abort(404, "No such project.")
    today = utcnow().date()
    grouped = db.session.execute(
        select(
            Task.status,
            Task.priority,
            _count(),
            _count(_overdue(today)),
            func.sum(Task.estimated_hours),
            func.sum(Task.actual_hours),
        )
        .where(Task.project_id == project_id)
        .group_by(Task.status, Task.priority)
    ).all()
    by_priority = _zeroes(PRIORITIES)
    overdue = 0
    estimated = actual = 0.0
    for _, priority, count, late, est, act in grouped:
        by_priority[priority] = by_priority.get(priority, 0) + count
        overdue += late
        estimated += float(est or 0)
        actual += float(act or 0)
    assignees, by_status = _assignee_figures(
        _assignee_rows(Task.project_id == project_id, today=today)
    )
    total = sum(by_status.values())
    return ProjectSummarySchema().dump(
        {
            "project": project,
            "today": today,
            "total": total,
            "open": total - sum(by_status.get(s, 0) for s in CLOSED_STATUSES),
            "overdue": overdue,
            "completion_rate": completion_rate(by_status),
            "estimated_hours": round(estimated, 2),
            "actual_hours": round(actual, 2),
            "by_status": by_status,
            "by_priority": by_priority,
            "by_assignee": assignees,
            "weekly": _weekly(project_id, today),
        }
    )


@blueprint.get("/user-workload")
@require_service_token
def user_workload():
    """Tasks per assignee: of ``user_id`` (or ``all``), optionally in one ``project_id``."""
    raw_user = request.args.get("user_id", "")
    user_id = None if raw_user == "all" else _int_argument("user_id", required=True)
    project_id = _int_argument("project_id")
    today = utcnow().date()
    conditions: list[ColumnElement[bool]] = []
    if user_id is not None:
        conditions.append(Task.assignee_id == user_id)
    if project_id is not None:
        conditions.append(Task.project_id == project_id)
    assignees, by_status = _assignee_figures(_assignee_rows(*conditions, today=today))
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
    total = sum(by_status.values())
    return WorkloadSchema().dump(
        {
            "user_id": user_id,
            "project_id": project_id,
            "today": today,
            "total": total,
            "open": total - sum(by_status.get(s, 0) for s in CLOSED_STATUSES),
            "overdue": sum(a["overdue"] for a in assignees),
            "assignees": assignees,
            "by_project": [
                {"project_id": p, "assignee_id": a, "total": t, "open": o, "overdue": late}
                for p, a, t, o, late in by_project
            ],
        }
    )


@blueprint.get("/overdue")
@require_service_token
def overdue_tasks():
    """Overdue tasks, most overdue first: in ``project_id``, in the projects of
    ``user_id``, or everywhere; optionally only those of ``assignee_id``."""
    user_id = _int_argument("user_id")
    project_id = _int_argument("project_id")
    assignee_id = _int_argument("assignee_id")
    today = utcnow().date()
    conditions: list[ColumnElement[bool]] = [_overdue(today)]
    if project_id is not None:
        conditions.append(Task.project_id == project_id)
    if assignee_id is not None:
        conditions.append(Task.assignee_id == assignee_id)
    if user_id is not None:
        mine = select(ProjectMember.project_id).where(ProjectMember.user_id == user_id)
        conditions.append(Task.project_id.in_(mine))
    counts = db.session.execute(
        select(Task.project_id, Task.priority, _count())
        .where(*conditions)
        .group_by(Task.project_id, Task.priority)
    ).all()
    tasks = db.session.execute(
        select(
            Task.id,
            Task.title,
            Task.project_id,
            Task.status,
            Task.priority,
            Task.assignee_id,
            Task.due_date,
        )
        .where(*conditions)
        .order_by(Task.due_date, Task.id)
        .limit(OVERDUE_LIMIT)
    ).all()
    by_priority = _zeroes(PRIORITIES)
    by_project: dict[int, int] = {}
    for project, priority, count in counts:
        by_priority[priority] = by_priority.get(priority, 0) + count
        by_project[project] = by_project.get(project, 0) + count
    total = sum(by_priority.values())
    return OverdueSchema().dump(
        {
            "user_id": user_id,
            "project_id": project_id,
            "assignee_id": assignee_id,
            "today": today,
            "total": total,
            "truncated": total > len(tasks),
            "by_priority": by_priority,
            "by_project": [{"project_id": p, "count": c} for p, c in sorted(by_project.items())],
            "tasks": [
                {**row._asdict(), "days_overdue": (today - row.due_date).days} for row in tasks
            ],
        }
    )


@blueprint.get("/system")
@require_service_token
def system():
    """Platform-wide counts for global admins: projects, members and tasks."""
    today = utcnow().date()
    now = utcnow()
    week_end = _week_end(today)
    project_rows = db.session.execute(
        select(Project.status, _count()).group_by(Project.status)
    ).all()
    members = db.session.scalar(select(func.count(func.distinct(ProjectMember.user_id))))
    task_rows = db.session.execute(
        select(
            Task.status,
            Task.priority,
            _count(),
            _count(_overdue(today)),
            _count(and_(_open(), Task.due_date >= today, Task.due_date <= week_end)),
            _count(Task.created_at >= now - timedelta(days=7)),
            _count(Task.created_at >= now - timedelta(days=30)),
        ).group_by(Task.status, Task.priority)
    ).all()
    projects_by_status = _zeroes(PROJECT_STATUSES)
    for status, count in project_rows:
        projects_by_status[status] = projects_by_status.get(status, 0) + count
    by_status = _zeroes(TASK_STATUSES)
    by_priority = _zeroes(PRIORITIES)
    for status, priority, count, *_ in task_rows:
        by_status[status] = by_status.get(status, 0) + count
        by_priority[priority] = by_priority.get(priority, 0) + count
    total = sum(by_status.values())
    return SystemSchema().dump(
        {
            "today": today,
            "projects": sum(projects_by_status.values()),
            "projects_by_status": projects_by_status,
            "members": members or 0,
            "tasks": {
                "total": total,
                "open": total - sum(by_status.get(s, 0) for s in CLOSED_STATUSES),
                "overdue": sum(row[3] for row in task_rows),
                "due_this_week": sum(row[4] for row in task_rows),
                "completion_rate": completion_rate(by_status),
                "by_status": by_status,
            },
            "tasks_by_priority": by_priority,
            "created_last_7_days": sum(row[5] for row in task_rows),
            "created_last_30_days": sum(row[6] for row in task_rows),
        }
    )
