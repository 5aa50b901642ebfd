"""The timesheet: time entries summed in SQL per user and day (one ``GROUP BY``), folded
here into the totals and the days, ISO weeks or users of the period; and summed per task
(a second ``GROUP BY``, joined to the tasks it names). Two statements however many
entries there are."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select

from services.project_task.extensions import db
from services.project_task.models import Task, TimeEntry

TOP_TASKS = 12


def _sums() -> tuple[Any, Any, Any]:
    """Per group: entries, minutes, billable minutes."""
    minutes = TimeEntry.minutes
    return (
        func.count().label("entries"),
        func.sum(minutes).label("minutes"),
        func.sum(minutes).filter(TimeEntry.billable.is_(True)).label("billable"),
    )


def _figures(entries: int, minutes: int | None, billable: int | None) -> dict[str, int]:
    return {"entries": entries, "minutes": minutes or 0, "billable_minutes": billable or 0}


def _add(into: dict[str, int], figures: dict[str, int]) -> None:
    for name, value in figures.items():
        into[name] = into.get(name, 0) + value


def _zero() -> dict[str, int]:
    return _figures(0, 0, 0)


def _days(since: date, until: date) -> Iterable[date]:
    return (since + timedelta(days=n) for n in range((until - since).days + 1))


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _tasks(scope: list[ColumnElement[bool]], limit: int | None) -> tuple[list[dict], int]:
    """The tasks with time in the scope, the most time first (the first ``limit``), with
    their estimate and their minutes of all time; and how many tasks have time."""
    sums = (
        select(TimeEntry.task_id, *_sums(), func.count().over().label("tasks"))
        .where(*scope)
        .group_by(TimeEntry.task_id)
        .order_by(func.sum(TimeEntry.minutes).desc(), TimeEntry.task_id)
        .limit(limit)
        .subquery()
    )
    rows = db.session.execute(
        select(
            Task.id,
            Task.title,
            Task.estimated_hours,
            Task.spent_minutes,
            sums.c.entries,
            sums.c.minutes,
            sums.c.billable,
            sums.c.tasks,
        )
        .join(sums, sums.c.task_id == Task.id)
        .order_by(sums.c.minutes.desc(), Task.id)
    ).all()
    tasks = [
        {
            "task_id": row.id,
            "title": row.title,
            "estimated_hours": row.estimated_hours,
            "spent_minutes": row.spent_minutes,
            **_figures(row.entries, row.minutes, row.billable),
        }
        for row in rows
    ]
    return tasks, rows[0].tasks if rows else 0


def timesheet(
    project_id: int | None, user_id: int | None, since: date, until: date, group_by: str
) -> dict[str, Any]:
    """The time of a project, a user, or a user within a project, from ``since`` to
    ``until`` (both included), with its rows per ``group_by`` (day|week|user|task)."""
    scope: list[ColumnElement[bool]] = [TimeEntry.spent_on >= since, TimeEntry.spent_on <= until]
    if project_id is not None:
        scope.append(TimeEntry.project_id == project_id)
    if user_id is not None:
        scope.append(TimeEntry.user_id == user_id)
    cells = db.session.execute(
        select(TimeEntry.user_id, TimeEntry.spent_on, *_sums())
        .where(*scope)
        .group_by(TimeEntry.user_id, TimeEntry.spent_on)
        .order_by(TimeEntry.user_id, TimeEntry.spent_on)
    ).all()
    totals = _zero()
    per_user_day: dict[int, dict[str, int]] = {}
    for cell in cells:
        _add(totals, _figures(cell.entries, cell.minutes, cell.billable))
        per_user_day.setdefault(cell.user_id, {})[cell.spent_on.isoformat()] = cell.minutes
    top_tasks, task_count = _tasks(scope, None if group_by == "task" else TOP_TASKS)
    return {
        "project_id": project_id,
        "user_id": user_id,
        "since": since,
        "until": until,
        "group_by": group_by,
        **totals,
        "users": len(per_user_day),
        "tasks": task_count,
        "rows": top_tasks if group_by == "task" else _fold(cells, group_by, since, until),
        "per_user_day": [{"user_id": user, "days": days} for user, days in per_user_day.items()],
        "top_tasks": top_tasks[:TOP_TASKS],
    }


def _fold(cells: list[Any], group_by: str, since: date, until: date) -> list[dict[str, Any]]:
    """The per user and day sums as rows of every day or ISO week of the period (empty
    ones too), or of every user with time (the most time first)."""
    groups: dict[Any, dict[str, int]] = {}
    if group_by == "day":
        groups = {day: _zero() for day in _days(since, until)}
    elif group_by == "week":
        groups = {monday_of(day): _zero() for day in _days(since, until)}
    for user, day, *sums in cells:
        key = {"day": day, "week": monday_of(day), "user": user}[group_by]
        _add(groups.setdefault(key, _zero()), _figures(*sums))
    if group_by == "user":
        ranked = sorted(groups.items(), key=lambda item: (-item[1]["minutes"], item[0]))
        return [{"user_id": user, **figures} for user, figures in ranked]
    name = "day" if group_by == "day" else "week_start"
    return [{name: key, **figures} for key, figures in groups.items()]
