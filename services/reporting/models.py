"""Report jobs, their schedules, and the outbox, idempotency and failed-job tables.

User and project ids belong to other services: plain indexed columns, not foreign keys.
A report's file lives in the report storage under ``file_key``; the row says where.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from services.common.db import (
    NO_ID_REUSE,
    FailedJobMixin,
    IdempotencyRecordMixin,
    OutboxEventMixin,
    TimestampMixin,
    UTCDateTime,
    utcnow,
)
from services.reporting.extensions import db

REPORT_TYPES = (
    "project_summary",
    "user_workload",
    "overdue_tasks",
    "activity_summary",
    "system_overview",
    "timesheet",
)
FORMATS = ("json", "csv", "pdf")
REPORT_STATUSES = ("pending", "running", "completed", "failed", "expired")
FREQUENCIES = ("daily", "weekly")


class Report(db.Model):
    """One requested report: ``pending → running → completed | failed``, then ``expired``."""

    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    requester_id: Mapped[int] = mapped_column(nullable=False)
    type: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    params: Mapped[dict[str, Any]] = mapped_column(sa.JSON, nullable=False, default=dict)
    format: Mapped[str] = mapped_column(sa.String(8), nullable=False)
    status: Mapped[str] = mapped_column(sa.String(16), nullable=False, default="pending")
    error: Mapped[str | None] = mapped_column(sa.Text)
    file_key: Mapped[str | None] = mapped_column(sa.String(255))
    size: Mapped[int | None] = mapped_column(sa.BigInteger)
    schedule_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("report_schedules.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # While a requested report is pending or running: its place among the requester's
    # REPORTS_MAX_ACTIVE_PER_USER (services.common.caps); a scheduled one takes none.
    cap_slot: Mapped[int | None] = mapped_column(sa.SmallInteger)

    # "My reports, newest first"; the beat jobs find reports by status and age.
    __table_args__ = (
        sa.Index("uq_reports_requester_id_cap_slot", "requester_id", "cap_slot", unique=True),
        sa.Index("ix_reports_requester_id_created_at", "requester_id", "created_at", "id"),
        sa.Index("ix_reports_status_created_at", "status", "created_at"),
        sa.Index("ix_reports_created_at", "created_at", "id"),
        NO_ID_REUSE,
    )


class ReportSchedule(TimestampMixin, db.Model):
    """A report made for ``owner_id`` every day, or every week on ``weekday`` (0 = Monday),
    at ``hour`` UTC, and e-mailed to them."""

    __tablename__ = "report_schedules"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(nullable=False)
    type: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    params: Mapped[dict[str, Any]] = mapped_column(sa.JSON, nullable=False, default=dict)
    format: Mapped[str] = mapped_column(sa.String(8), nullable=False)
    frequency: Mapped[str] = mapped_column(sa.String(8), nullable=False)
    weekday: Mapped[int | None] = mapped_column(sa.SmallInteger)
    hour: Mapped[int] = mapped_column(sa.SmallInteger, nullable=False)
    next_run_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Its place among the owner's REPORT_SCHEDULES_MAX_PER_USER (services.common.caps).
    cap_slot: Mapped[int | None] = mapped_column(sa.SmallInteger)

    __table_args__ = (
        sa.Index("uq_report_schedules_owner_id_cap_slot", "owner_id", "cap_slot", unique=True),
        sa.Index("ix_report_schedules_owner_id_created_at", "owner_id", "created_at", "id"),
        NO_ID_REUSE,
    )


class OutboxEvent(OutboxEventMixin, db.Model):
    __tablename__ = "outbox_events"


class IdempotencyRecord(IdempotencyRecordMixin, db.Model):
    __tablename__ = "idempotency_records"


class FailedJob(FailedJobMixin, db.Model):
    __tablename__ = "failed_jobs"
