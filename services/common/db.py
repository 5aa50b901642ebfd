"""Database helpers shared by every service's models.

Each service owns its own ``SQLAlchemy`` instance and metadata; this module gives them
the column types and the mixins for the tables every service has (the event outbox and
idempotency records).

Ids are never handed out twice. SQLite's default (an ``INTEGER PRIMARY KEY`` without
``AUTOINCREMENT``) gives a new row the highest id + 1, so deleting the newest project,
task or comment would let the next one take its id, and with it whatever other services
still keep under that id (comments, files, activity, cached access, a clean-up job on
its way). Every table with an integer id therefore carries :data:`NO_ID_REUSE` in its
``__table_args__`` (PostgreSQL's sequences never go back; SQLite then keeps the highest
id ever given in ``sqlite_sequence``), and each service's migrations rebuild their
SQLite tables that way (:func:`services.common.migration_ops.never_reuse_ids`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# ``__table_args__`` (alone, or last in the tuple) of every table with an integer id.
NO_ID_REUSE: dict[str, Any] = {"sqlite_autoincrement": True}


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always returned timezone-aware (also on SQLite)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def make_base() -> type[DeclarativeBase]:
    """A declarative base for one service: its own metadata and registry, with naming
    conventions Alembic can rely on. Use ``SQLAlchemy(model_class=make_base())``; a base
    shared by two services would put both services' tables in one metadata."""

    class ServiceBase(DeclarativeBase):
        metadata = sa.MetaData(naming_convention=dict(NAMING_CONVENTION))

    return ServiceBase


class TimestampMixin:
    """``created_at`` and ``updated_at`` maintained by the ORM."""

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False
    )


class OutboxEventMixin:
    """The transactional outbox: one row per domain event, written with the change."""

    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True
    )
    event_id: Mapped[str] = mapped_column(sa.String(36), unique=True, nullable=False)
    type: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    payload: Mapped[dict] = mapped_column(sa.JSON, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0, nullable=False)

    __table_args__ = NO_ID_REUSE


class IdempotencyRecordMixin:
    """A remembered create: the first response to (user, Idempotency-Key)."""

    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True
    )
    scope: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    key: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    fingerprint: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    status: Mapped[int | None] = mapped_column(sa.Integer)
    body: Mapped[str | None] = mapped_column(sa.Text)
    headers: Mapped[dict | None] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, nullable=False, index=True
    )

    __table_args__ = (
        sa.UniqueConstraint("scope", "key", name="uq_idempotency_scope_key"),
        NO_ID_REUSE,
    )


class ProcessedEventMixin:
    """Events a consumer has already applied (idempotency on ``event_id``)."""

    event_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    type: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    processed_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, nullable=False, index=True
    )


class FailedJobMixin:
    """A background job that gave up, with its error: never silently dropped."""

    id: Mapped[int] = mapped_column(primary_key=True)
    task_name: Mapped[str] = mapped_column(sa.String(128), nullable=False, index=True)
    task_id: Mapped[str | None] = mapped_column(sa.String(64))
    args: Mapped[list | dict | None] = mapped_column(sa.JSON)
    error: Mapped[str] = mapped_column(sa.Text, nullable=False)
    failed_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, nullable=False, index=True
    )

    __table_args__ = NO_ID_REUSE
