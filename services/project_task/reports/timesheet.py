"""The timesheet: time entries summed in SQL per user and day (one ``GROUP BY``), folded
here into the days, ISO weeks or users of the period, or summed per task (a second
``GROUP BY``); a fixed three statements however many entries there are."""

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
    return func.count(), func.sum(minutes), func.sum(minutes).filter(TimeEntry.billable.is_(True))


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


def _task_rows(scope: list[ColumnElement[bool]], limit: int | None = None) -> list[dict]:
    """Each task with time in the scope, the most time first, with its estimate and its
    minutes of all time."""
    query = (
        select(Task.id, Task.title, Task.estimated_hours, Task.spent_minutes, *_sums())
        .join(Task, Task.id == TimeEntry.task_id)
        .where(*scope)
        .group_by(Task.id)
        .order_by(func.sum(TimeEntry.minutes).desc(), Task.id)
        .limit(limit)
    )
    return [
        {
            "task_id": task_id,
            "title": title,
            "estimated_hours": estimated,
            "spent_minutes": spent,
            **_figures(entries, minutes, billable),
        }
        for task_id, title, estimated, spent, entries, minutes, billable in db.session.execute(
            query
        )
    ]


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
    entries, minutes, billable, users, tasks = db.session.execute(
        select(
            *_sums(),
            func.count(func.distinct(TimeEntry.user_id)),
            func.count(func.distinct(TimeEntry.task_id)),
        ).where(*scope)
    ).one()
    cells = db.session.execute(
        select(TimeEntry.user_id, TimeEntry.spent_on, *_sums())
        .where(*scope)
        .group_by(TimeEntry.user_id, TimeEntry.spent_on)
        .order_by(TimeEntry.spent_on, TimeEntry.user_id)
    ).all()
    if group_by == "task":
        rows = _task_rows(scope)
        top_tasks = rows[:TOP_TASKS]
    else:
        rows = _fold(cells, group_by, since, until)
        top_tasks = _task_rows(scope, TOP_TASKS)
    return {
        "project_id": project_id,
        "user_id": user_id,
        "since": since,
        "until": until,
        "group_by": group_by,
        **_figures(entries, minutes, billable),
        "users": users,
        "tasks": tasks,
        "rows": rows,
        "per_user_day": [
            {"user_id": cell.user_id, "day": cell.spent_on, "minutes": cell[3]} for cell in cells
        ],
        "top_tasks": top_tasks,
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
