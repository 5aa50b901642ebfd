"""Attachment metadata (SPEC §5), with the outbox, idempotency and consumer tables.

The file itself lives in the storage under ``storage_key``; the client's file name is
only metadata. Task and project ids belong to the project-task service and user ids to
the user service: plain indexed columns, not foreign keys. ``project_id`` is kept so a
``project.deleted`` event can remove a whole project's files at once.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from services.attachment.extensions import db
from services.common.db import (
    NO_ID_REUSE,
    FailedJobMixin,
    IdempotencyRecordMixin,
    OutboxEventMixin,
    ProcessedEventMixin,
    UTCDateTime,
    utcnow,
)


class Attachment(db.Model):
    """A file uploaded to a task."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(nullable=False)
    project_id: Mapped[int] = mapped_column(nullable=False, index=True)
    filename: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    content_type: Mapped[str] = mapped_column(sa.String(127), nullable=False)
    size: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    sha256: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    storage_key: Mapped[str] = mapped_column(sa.String(64), nullable=False, unique=True)
    uploaded_by: Mapped[int] = mapped_column(nullable=False, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    # A task's attachments are listed oldest first.
    __table_args__ = (
        sa.Index("ix_attachments_task_id_created_at", "task_id", "created_at", "id"),
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
