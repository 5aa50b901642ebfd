"""The audit trail (append-only), its daily summaries, and the consumer's bookkeeping."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from services.activity_log.extensions import db
from services.common.db import NO_ID_REUSE, FailedJobMixin, ProcessedEventMixin, UTCDateTime, utcnow

BIG_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


class Activity(db.Model):
    """One event as it happened; rows are only ever inserted (and deleted by retention)."""

    __tablename__ = "activities"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    event_id: Mapped[str] = mapped_column(sa.String(36), unique=True, nullable=False)
    action: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    actor_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    actor_username: Mapped[str | None] = mapped_column(sa.String(64))
    entity_type: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    entity_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    project_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    changes: Mapped[dict[str, Any]] = mapped_column(sa.JSON, nullable=False, default=dict)
    data: Mapped[dict[str, Any]] = mapped_column(sa.JSON, nullable=False, default=dict)
    request_id: Mapped[str | None] = mapped_column(sa.String(128), index=True)
    ip: Mapped[str | None] = mapped_column(sa.String(45))
    user_agent: Mapped[str | None] = mapped_column(sa.String(512))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    # The feed is read newest first by (occurred_at, id), alone or after one filter.
    __table_args__ = (
        sa.Index("ix_activities_occurred_at_id", "occurred_at", "id"),
        sa.Index("ix_activities_project_id_occurred_at", "project_id", "occurred_at", "id"),
        sa.Index("ix_activities_actor_id_occurred_at", "actor_id", "occurred_at", "id"),
        sa.Index("ix_activities_entity", "entity_type", "entity_id", "occurred_at"),
        sa.Index("ix_activities_action_occurred_at", "action", "occurred_at"),
        NO_ID_REUSE,
    )


class DailySummary(db.Model):
    """How many entries of one action in one project a day had, kept after retention
    deleted the entries themselves."""

    __tablename__ = "daily_summaries"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(sa.Date, nullable=False)
    action: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    project_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    count: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)

    __table_args__ = (
        sa.UniqueConstraint(
            "day",
            "action",
            "project_id",
            name="uq_daily_summaries_day_action_project",
            postgresql_nulls_not_distinct=True,
        ),
        sa.Index("ix_daily_summaries_project_id", "project_id"),
        NO_ID_REUSE,
    )


class ProcessedEvent(ProcessedEventMixin, db.Model):
    __tablename__ = "processed_events"


class FailedJob(FailedJobMixin, db.Model):
    __tablename__ = "failed_jobs"
