"""Workspaces, projects, their members, tasks and task relations, time entries and
timers, with the outbox and idempotency tables.

Labels live in a child table (``task_labels``) so a label filter is an indexed lookup on
SQLite and PostgreSQL alike. ``Project.my_role`` and ``Project.task_count`` (and their
workspace counterparts) are query expressions: filled in SQL by the query that loads
the row (see ``access.py``).
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, query_expression, relationship

from services.common.contracts import PRIORITIES
from services.common.db import (
    NO_ID_REUSE,
    FailedJobMixin,
    IdempotencyRecordMixin,
    OutboxEventMixin,
    ProcessedEventMixin,
    TimestampMixin,
    UTCDateTime,
    utcnow,
)
from services.project_task.extensions import db


def rank_of(column: sa.ColumnElement, order: tuple[str, ...]) -> sa.ColumnElement:
    """SQL giving ``column``'s position in ``order`` (so priority sorts low < critical)."""
    return sa.case({value: index for index, value in enumerate(order)}, value=column, else_=-1)


class Workspace(TimestampMixin, db.Model):
    """A group of projects with its own members (roles owner > admin > member)."""

    __tablename__ = "workspaces"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), nullable=False, index=True)
    description: Mapped[str | None] = mapped_column(sa.Text)
    owner_id: Mapped[int] = mapped_column(nullable=False, index=True)

    my_role: Mapped[str | None] = query_expression()
    project_count: Mapped[int | None] = query_expression()
    member_count: Mapped[int | None] = query_expression()

    __table_args__ = NO_ID_REUSE


class WorkspaceMember(TimestampMixin, db.Model):
    """A user's role in a workspace (user ids belong to the user service)."""

    __tablename__ = "workspace_members"

    workspace_id: Mapped[int] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(primary_key=True, index=True)
    role: Mapped[str] = mapped_column(sa.String(16), nullable=False)


class Project(TimestampMixin, db.Model):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), nullable=False, index=True)
    description: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(16), default="active", nullable=False, index=True)
    priority: Mapped[str] = mapped_column(
        sa.String(16), default="medium", nullable=False, index=True
    )
    start_date: Mapped[date | None] = mapped_column(sa.Date, index=True)
    end_date: Mapped[date | None] = mapped_column(sa.Date, index=True)
    owner_id: Mapped[int] = mapped_column(nullable=False, index=True)
    workspace_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="SET NULL"), index=True
    )
    # private: its members only; workspace: also every member of its workspace, as viewers.
    visibility: Mapped[str] = mapped_column(sa.String(16), default="private", nullable=False)
    is_template: Mapped[bool] = mapped_column(sa.Boolean, default=False, nullable=False, index=True)

    my_role: Mapped[str | None] = query_expression()
    task_count: Mapped[int | None] = query_expression()

    __table_args__ = (
        sa.Index("ix_projects_created_at", "created_at"),
        sa.Index("ix_projects_updated_at", "updated_at"),
        NO_ID_REUSE,
    )


class ProjectMember(TimestampMixin, db.Model):
    """A user's role in a project (user ids belong to the user service)."""

    __tablename__ = "project_members"

    project_id: Mapped[int] = mapped_column(
        sa.ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(primary_key=True, index=True)
    role: Mapped[str] = mapped_column(sa.String(16), nullable=False)


class Task(TimestampMixin, db.Model):
    __tablename__ = "tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False, index=True
    )
    title: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    description: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(16), default="todo", nullable=False, index=True)
    priority: Mapped[str] = mapped_column(
        sa.String(16), default="medium", nullable=False, index=True
    )
    assignee_id: Mapped[int | None] = mapped_column(index=True)
    reporter_id: Mapped[int] = mapped_column(nullable=False, index=True)
    due_date: Mapped[date | None] = mapped_column(sa.Date, index=True)
    estimated_hours: Mapped[float | None] = mapped_column(sa.Float)
    actual_hours: Mapped[float | None] = mapped_column(sa.Float)
    parent_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("tasks.id", ondelete="SET NULL"), index=True
    )
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The sum of the task's time entries, kept in the transaction that changes them, so
    # task lists show it without a query per task.
    spent_minutes: Mapped[int] = mapped_column(default=0, server_default="0", nullable=False)
    # The task's place in its board column (its project and status), smaller first; set
    # by ``board.py`` only, under the project's lock, so a column never holds one twice.
    position: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)

    label_rows: Mapped[list[TaskLabel]] = relationship(
        cascade="all, delete-orphan", order_by="TaskLabel.label"
    )
    # Task lists load the labels as one comma-joined string per row (a label has no
    # commas): far cheaper than a collection per task (scripts/bench, P4). None when the
    # query did not ask for it; see ``labels_joined``.
    label_text: Mapped[str | None] = query_expression()

    # A project's list filters by status and sorts newest first by default; the count of
    # a status filter is then an index-only scan (scripts/bench, P4).
    __table_args__ = (
        sa.Index("ix_tasks_created_at", "created_at"),
        sa.Index("ix_tasks_updated_at", "updated_at"),
        sa.Index("ix_tasks_project_id_status", "project_id", "status"),
        sa.Index("ix_tasks_project_id_created_at", "project_id", "created_at"),
        sa.Index(
            "ix_tasks_project_id_status_position", "project_id", "status", "position", unique=True
        ),
        NO_ID_REUSE,
    )

    @property
    def labels(self) -> list[str]:
        if self.label_text is not None:
            return sorted(self.label_text.split(",")) if self.label_text else []
        return [row.label for row in self.label_rows]

    @labels.setter
    def labels(self, names: list[str]) -> None:
        # Keep the rows of labels that stay, so only real additions and removals are written.
        kept = {row.label: row for row in self.label_rows}
        self.label_rows = [kept.get(name) or TaskLabel(label=name) for name in sorted(set(names))]


# "Most urgent first" (sort=-priority,due_date) read in index order instead of sorting
# the project's tasks (scripts/bench, P4). PostgreSQL only: SQLite indexes take no NULLS
# LAST. The expression is the one the list query sorts by.
sa.Index(
    "ix_tasks_project_id_priority_rank",
    Task.project_id,
    rank_of(Task.priority, PRIORITIES).desc(),
    Task.due_date.asc().nulls_last(),
    Task.id,
).ddl_if(dialect="postgresql")


class TaskLabel(db.Model):
    __tablename__ = "task_labels"

    task_id: Mapped[int] = mapped_column(
        sa.ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True
    )
    label: Mapped[str] = mapped_column(sa.String(50), primary_key=True, index=True)


def labels_joined() -> sa.ColumnElement[str]:
    """A task's labels as one string, for ``with_expression(Task.label_text, ...)``."""
    joined = (
        sa.select(sa.func.aggregate_strings(TaskLabel.label, ","))
        .where(TaskLabel.task_id == Task.id)
        .scalar_subquery()
    )
    return sa.func.coalesce(joined, "")


class TaskWatcher(db.Model):
    """A user who follows a task: they hear about its changes and comments (by their
    notification preferences) while they can see its project."""

    __tablename__ = "task_watchers"

    task_id: Mapped[int] = mapped_column(
        sa.ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(primary_key=True, index=True)
    # The task's project, kept on the row: leaving a project ends every watch there.
    project_id: Mapped[int] = mapped_column(
        sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class TimeEntry(TimestampMixin, db.Model):
    """Time ``user_id`` spent on a task on one day: 1 to 1,440 minutes, and at most 1,440
    a day for one user across all their entries (see ``time_entries/rules.py``)."""

    __tablename__ = "time_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(
        sa.ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False
    )
    # The task's project, kept on the entry: lists and timesheets filter by it.
    project_id: Mapped[int] = mapped_column(
        sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False
    )
    user_id: Mapped[int] = mapped_column(nullable=False)
    spent_on: Mapped[date] = mapped_column(sa.Date, nullable=False)
    minutes: Mapped[int] = mapped_column(nullable=False)
    note: Mapped[str | None] = mapped_column(sa.Text)
    billable: Mapped[bool] = mapped_column(default=False, nullable=False)

    # Each foreign key leads an index with the day, which every list and timesheet
    # filters and sorts on; (user_id, spent_on) also serves the 24-hour rule.
    __table_args__ = (
        sa.CheckConstraint("minutes > 0 AND minutes <= 1440", name="minutes_within_a_day"),
        sa.Index("ix_time_entries_task_id_spent_on", "task_id", "spent_on"),
        sa.Index("ix_time_entries_project_id_spent_on", "project_id", "spent_on"),
        sa.Index("ix_time_entries_user_id_spent_on", "user_id", "spent_on"),
        sa.Index("ix_time_entries_created_at", "created_at"),
        NO_ID_REUSE,
    )


class Timer(db.Model):
    """A user's running timer: at most one per user (``user_id`` is unique). Stopped, it
    becomes a time entry dated ``spent_on``."""

    __tablename__ = "timers"
    __table_args__ = NO_ID_REUSE

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(nullable=False, unique=True)
    task_id: Mapped[int] = mapped_column(
        sa.ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False, index=True
    )
    project_id: Mapped[int] = mapped_column(
        sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False, index=True
    )
    spent_on: Mapped[date] = mapped_column(sa.Date, nullable=False)
    note: Mapped[str | None] = mapped_column(sa.Text)
    billable: Mapped[bool] = mapped_column(default=False, nullable=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class TimeLock(db.Model):
    """One row per user who logs time: every change to their time locks it first, so the
    24-hour rule is checked one request at a time (PostgreSQL locks the row, SQLite the
    database) and concurrent requests cannot pass it together."""

    __tablename__ = "time_locks"

    user_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    locked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class TaskRelation(db.Model):
    """``source`` blocks, relates to or duplicates ``target``; each relation is shown from
    both sides (``blocked_by``, ``duplicated_by``). ``relates_to`` is symmetric and kept
    with the smaller task id as its source, so a pair is related once."""

    __tablename__ = "task_relations"

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(sa.String(16), nullable=False)
    source_id: Mapped[int] = mapped_column(
        sa.ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False, index=True
    )
    target_id: Mapped[int] = mapped_column(
        sa.ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False, index=True
    )
    created_by: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    source: Mapped[Task] = relationship(foreign_keys=[source_id], lazy="raise")
    target: Mapped[Task] = relationship(foreign_keys=[target_id], lazy="raise")

    __table_args__ = (
        sa.UniqueConstraint("source_id", "target_id", "type"),
        sa.CheckConstraint("source_id <> target_id", name="not_self"),
        NO_ID_REUSE,
    )


class OutboxEvent(OutboxEventMixin, db.Model):
    __tablename__ = "outbox_events"


class IdempotencyRecord(IdempotencyRecordMixin, db.Model):
    __tablename__ = "idempotency_records"


class ProcessedEvent(ProcessedEventMixin, db.Model):
    __tablename__ = "processed_events"


class FailedJob(FailedJobMixin, db.Model):
    __tablename__ = "failed_jobs"
