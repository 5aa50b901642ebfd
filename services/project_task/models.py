"""Workspaces, projects, their members, tasks and task relations, with the outbox and
idempotency tables.

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
    IdempotencyRecordMixin,
    OutboxEventMixin,
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
    )


class OutboxEvent(OutboxEventMixin, db.Model):
    __tablename__ = "outbox_events"


class IdempotencyRecord(IdempotencyRecordMixin, db.Model):
    __tablename__ = "idempotency_records"
