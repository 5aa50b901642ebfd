"""Comments on tasks (SPEC §5), with the outbox, idempotency and consumer tables.

Task and project ids belong to the project-task service and user ids to the user
service: they are plain indexed columns, not foreign keys. ``project_id`` is kept on each
comment so a ``project.deleted`` event can remove a whole project's comments at once.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from services.comment.extensions import db
from services.common.db import (
    NO_ID_REUSE,
    FailedJobMixin,
    IdempotencyRecordMixin,
    OutboxEventMixin,
    ProcessedEventMixin,
    TimestampMixin,
)

CONTENT_MAX_LENGTH = 10_000


class Comment(TimestampMixin, db.Model):
    """A comment by ``author_id`` on ``task_id``; ``mentions`` are the ids of the project
    members it @mentions."""

    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(nullable=False)
    project_id: Mapped[int] = mapped_column(nullable=False, index=True)
    author_id: Mapped[int] = mapped_column(nullable=False, index=True)
    content: Mapped[str] = mapped_column(sa.Text, nullable=False)
    mentions: Mapped[list[int]] = mapped_column(sa.JSON, nullable=False, default=list)
    edited: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)

    # Not a column: the author's public profile, filled per request from the user service
    # (see ``profiles.attach_authors``) for the response schema.
    author = None

    # A task's comments are listed oldest first.
    __table_args__ = (
        sa.Index("ix_comments_task_id_created_at", "task_id", "created_at", "id"),
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
