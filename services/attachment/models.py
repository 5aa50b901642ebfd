"""Attachment metadata, its versions, the stored blobs and share links, with the outbox,
idempotency and consumer tables.

An attachment has numbered versions; its own columns describe the latest one. The bytes
live in the storage as blobs keyed by their SHA-256 (``blobs``): identical bytes are
stored once, under one storage key, whatever versions refer to them, and a blob goes when
no version refers to it any more (services/attachment/blobs.py). The client's file name is
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
    # The latest version's blob (blobs.storage_key), kept here so a download reads one row.
    storage_key: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    uploaded_by: Mapped[int] = mapped_column(nullable=False, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    # The latest version's number.
    version: Mapped[int] = mapped_column(nullable=False, default=1, server_default="1")

    # A task's attachments are listed oldest first.
    __table_args__ = (
        sa.Index("ix_attachments_task_id_created_at", "task_id", "created_at", "id"),
        NO_ID_REUSE,
    )


class Blob(db.Model):
    """Stored bytes, once per content: the storage key of the file holding them."""

    __tablename__ = "blobs"

    sha256: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    storage_key: Mapped[str] = mapped_column(sa.String(64), nullable=False, unique=True)
    size: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class AttachmentVersion(db.Model):
    """One version of an attachment: its bytes (a blob) and the name and type they came with."""

    __tablename__ = "attachment_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    attachment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("attachments.id", ondelete="CASCADE"), nullable=False
    )
    number: Mapped[int] = mapped_column(nullable=False)
    filename: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    content_type: Mapped[str] = mapped_column(sa.String(127), nullable=False)
    size: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    sha256: Mapped[str] = mapped_column(sa.ForeignKey("blobs.sha256"), nullable=False, index=True)
    uploaded_by: Mapped[int] = mapped_column(nullable=False)
    # The version whose bytes a restore copied; None for an upload.
    restored_from: Mapped[int | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    __table_args__ = (
        sa.UniqueConstraint("attachment_id", "number", name="uq_attachment_versions_number"),
        NO_ID_REUSE,
    )


class ShareLink(db.Model):
    """A link that downloads an attachment's latest version without an account until it
    expires or is revoked. Only the SHA-256 of its token is kept."""

    __tablename__ = "share_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    attachment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("attachments.id", ondelete="CASCADE"), nullable=False, index=True
    )
    token_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False, unique=True)
    created_by: Mapped[int] = mapped_column(nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    __table_args__ = (NO_ID_REUSE,)


class OutboxEvent(OutboxEventMixin, db.Model):
    __tablename__ = "outbox_events"


class IdempotencyRecord(IdempotencyRecordMixin, db.Model):
    __tablename__ = "idempotency_records"


class ProcessedEvent(ProcessedEventMixin, db.Model):
    __tablename__ = "processed_events"


class FailedJob(FailedJobMixin, db.Model):
    __tablename__ = "failed_jobs"
