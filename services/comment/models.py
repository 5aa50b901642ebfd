"""Comments on tasks, their threads and reactions (docs/services.md), with the
outbox, idempotency and consumer tables.

Task and project ids belong to the project-task service and user ids to the user
service: they are plain indexed columns, not foreign keys. ``project_id`` is kept on each
comment so a ``project.deleted`` event can remove a whole project's comments at once.

A reply's ``parent_id`` is always a top-level comment of the same task (a reply to a
reply is attached to its top-level comment), so a thread is one level deep. A top-level
comment keeps its ``reply_count``; deleting one that has replies leaves a tombstone
(``deleted``, its text and mentions removed) so the thread stays readable.
"""

from __future__ import annotations

from datetime import datetime

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
    UTCDateTime,
    utcnow,
)

CONTENT_MAX_LENGTH = 10_000
# The reactions a comment can get, in the order a summary lists them.
REACTIONS = ("+1", "-1", "laugh", "hooray", "confused", "heart", "rocket", "eyes")


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
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("comments.id", ondelete="CASCADE"))
    reply_count: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    deleted: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)

    # Not a column: the author's public profile, filled per request from the user service
    # (see ``profiles.attach_authors``) for the response schema.
    author = None
    # Not a column either: ``[{name, count, me}]`` for the caller, filled per page
    # (see ``reactions.attach_reactions``).
    reactions: list = []

    # A task's comments, and a thread's replies, are listed oldest first.
    __table_args__ = (
        sa.Index("ix_comments_task_id_created_at", "task_id", "created_at", "id"),
        sa.Index("ix_comments_parent_id_created_at", "parent_id", "created_at", "id"),
        NO_ID_REUSE,
    )


class Reaction(db.Model):
    """``user_id`` reacted to ``comment_id`` with ``name`` (one of :data:`REACTIONS`)."""

    __tablename__ = "comment_reactions"

    comment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("comments.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class OutboxEvent(OutboxEventMixin, db.Model):
    __tablename__ = "outbox_events"


class IdempotencyRecord(IdempotencyRecordMixin, db.Model):
    __tablename__ = "idempotency_records"


class ProcessedEvent(ProcessedEventMixin, db.Model):
    __tablename__ = "processed_events"


class FailedJob(FailedJobMixin, db.Model):
    __tablename__ = "failed_jobs"
