"""The rules of time tracking: who logs time where, which days, the 24-hour rule, and
the bookkeeping of every change to an entry (the task's ``spent_minutes`` and the
``time_entry.*`` event, in the same transaction).

- Time is logged by project members (member and up) on their project's tasks; viewers
  and global admins who are no members read but do not log.
- ``spent_on`` is a calendar date no later than today anywhere on Earth (UTC+14, so
  every user's local "today" is allowed), and no earlier than 1970-01-01
  (:class:`services.project_task.fields.SpentOn`).
- One user logs at most 24 hours (1,440 minutes) a day across all their entries. Every
  change to a user's time first locks their row in ``time_locks``, so two requests at
  once are checked one after the other and cannot pass the rule together.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from services.common.auth import Principal
from services.common.contracts import role_at_least
from services.common.db import utcnow
from services.common.errors import abort
from services.common.events import record_event
from services.project_task.extensions import db
from services.project_task.models import Task, TimeEntry, TimeLock, Timer
from services.project_task.time_entries.schemas import TimeEntrySchema

MINUTES_PER_DAY = 1440
_schema = TimeEntrySchema()


def may_log_time(role: str | None) -> bool:
    """Whether a project role lets its holder log time (members and up)."""
    return role_at_least(role, "member")


def require_logging(role: str | None) -> None:
    """403 unless the caller (who can see the task) is a member who may log time."""
    if not may_log_time(role):
        abort(403, "Only project members (member and up) log time on its tasks.")


def may_change(entry: TimeEntry, role: str | None, principal: Principal) -> bool:
    """The author (still a member), project admins and owners, and global admins."""
    if principal.is_admin or role_at_least(role, "admin"):
        return True
    return entry.user_id == principal.id and may_log_time(role)


def lock_time_of(user_id: int) -> None:
    """Lock the user's time until the transaction ends (see the module docstring)."""
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    insert = dialect.insert(TimeLock).values(user_id=user_id, locked_at=utcnow())
    db.session.execute(
        insert.on_conflict_do_update(
            index_elements=[TimeLock.user_id], set_={"locked_at": insert.excluded.locked_at}
        )
    )


def room_left(user_id: int, day: date, entry_id: int | None = None) -> int:
    """Minutes the user may still log on ``day`` (not counting entry ``entry_id``)."""
    logged: Select = select(func.coalesce(func.sum(TimeEntry.minutes), 0)).where(
        TimeEntry.user_id == user_id, TimeEntry.spent_on == day
    )
    if entry_id is not None:
        logged = logged.where(TimeEntry.id != entry_id)
    return MINUTES_PER_DAY - int(db.session.scalar(logged))


def check_daily_limit(user_id: int, day: date, minutes: int, entry_id: int | None = None) -> None:
    """422 ``daily_limit_exceeded`` when ``minutes`` more on ``day`` would make over 24 h
    (call with the user's time locked)."""
    room = room_left(user_id, day, entry_id)
    if minutes > room:
        logged = MINUTES_PER_DAY - room
        detail = (
            f"{minutes} more minutes would make {logged + minutes} on {day.isoformat()}; "
            f"a day has {MINUTES_PER_DAY} ({logged} logged, {max(room, 0)} left)."
        )
        abort(422, detail, code="daily_limit_exceeded", errors={"minutes": [detail]})


def add_spent(task_id: int, delta: int) -> None:
    """Move the task's ``spent_minutes`` by ``delta`` (its ``updated_at`` stays: time
    logged is no edit of the task)."""
    if delta:
        db.session.execute(
            update(Task)
            .where(Task.id == task_id)
            .values(spent_minutes=Task.spent_minutes + delta, updated_at=Task.updated_at)
            .execution_options(synchronize_session=False)
        )


def record_entry_event(
    event_type: str,
    actor: Principal,
    entry: TimeEntry,
    data: dict[str, Any],
    changes: dict[str, list[Any]] | None = None,
) -> None:
    record_event(
        event_type,
        actor=actor,
        entity=("time_entry", entry.id),
        project_id=entry.project_id,
        data={"time_entry": data},
        changes=changes,
    )


def create_entry(actor: Principal, task: Task, fields: dict[str, Any]) -> TimeEntry:
    """A new entry of ``actor`` on ``task`` (checked against the 24-hour rule), the
    task's ``spent_minutes`` and the ``time_entry.created`` event; the caller commits."""
    lock_time_of(actor.id)
    check_daily_limit(actor.id, fields["spent_on"], fields["minutes"])
    entry = TimeEntry(task_id=task.id, project_id=task.project_id, user_id=actor.id, **fields)
    db.session.add(entry)
    db.session.flush()
    add_spent(task.id, entry.minutes)
    record_entry_event("time_entry.created", actor, entry, _schema.dump(entry))
    return entry


def forget_time_of_tasks(task_ids: Select | list[int]) -> None:
    """Delete the entries and timers of tasks about to be deleted (explicitly: SQLite
    ignores ON DELETE CASCADE). Their ``time_entry.*`` events are not recorded: the
    task's ``task.deleted`` (or the project's ``project.deleted``) says it all."""
    db.session.execute(delete(TimeEntry).where(TimeEntry.task_id.in_(task_ids)))
    db.session.execute(delete(Timer).where(Timer.task_id.in_(task_ids)))
