"""Stopping a timer: how long it ran, and the time entry it becomes.

- The entry is dated the timer's ``spent_on`` (the day given when it started, else the
  UTC day it started on), however late it stops: a timer running past midnight is not
  split.
- Its length is the time it ran rounded to the nearest minute (30 seconds round up),
  and at least one minute.
- It gets no more than the day has room for (24 hours a day, see
  :mod:`services.project_task.time_entries.rules`): a timer forgotten overnight is cut
  to what is left of its day; with nothing left, or when its owner no longer logs time
  in the task's project, it stops without an entry.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from services.common.auth import Principal
from services.common.db import utcnow
from services.common.events import record_event
from services.project_task.access import role_of
from services.project_task.extensions import db
from services.project_task.models import Task, Timer
from services.project_task.time_entries import rules
from services.project_task.timer.schemas import StoppedTimerSchema, TimerSchema

_schema = TimerSchema()
_stopped_schema = StoppedTimerSchema()


def whole_minutes(seconds: float) -> int:
    """Seconds as whole minutes: to the nearest minute (30 s round up), at least 1."""
    return max(1, int((seconds + 30) // 60))


def values(timer: Timer) -> dict[str, Any]:
    """The timer's fields as they are now (to show it once it is gone)."""
    return {name: getattr(timer, name) for name in _schema.fields}


def running_timer(user_id: int) -> Timer | None:
    """The user's running timer, read afresh."""
    return db.session.scalar(
        select(Timer).where(Timer.user_id == user_id).execution_options(populate_existing=True)
    )


def record_timer_event(
    event_type: str, actor: Principal, timer: Timer, data: dict[str, Any]
) -> None:
    record_event(
        event_type,
        actor=actor,
        entity=("timer", timer.id),
        project_id=timer.project_id,
        data=data,
    )


def stop(timer: Timer, actor: Principal) -> dict[str, Any]:
    """Stop ``actor``'s timer into an entry (with their time locked); the caller commits.
    Returns what :class:`StoppedTimerSchema` shows."""
    stopped_at = utcnow()
    elapsed = max(0.0, (stopped_at - timer.started_at).total_seconds())
    entry = None
    if rules.may_log_time(role_of(timer.project_id, timer.user_id)):
        minutes = min(whole_minutes(elapsed), rules.room_left(timer.user_id, timer.spent_on))
        if minutes > 0:
            fields = {"spent_on": timer.spent_on, "minutes": minutes}
            fields |= {"note": timer.note, "billable": timer.billable}
            entry = rules.create_entry(actor, db.session.get(Task, timer.task_id), fields)
    stopped = {
        "timer": values(timer),
        "stopped_at": stopped_at,
        "elapsed_seconds": int(elapsed),
        "entry": entry,
    }
    record_timer_event("timer.stopped", actor, timer, _stopped_schema.dump(stopped))
    db.session.delete(timer)
    # Gone before anything else is written: a new timer of the same user may follow.
    db.session.flush()
    return stopped
