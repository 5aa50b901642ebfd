"""Alembic operations for the tables every service keeps for the platform's shared
mechanisms (the event outbox, idempotency records, processed events, failed jobs), so
each service's migration creates them from this one definition of the mixins in
:mod:`services.common.db`::

    from services.common.migration_ops import create_platform_tables, drop_platform_tables

    def upgrade():
        ...  # the service's own tables
        create_platform_tables("outbox_events", "idempotency_records")

:func:`never_reuse_ids` rebuilds tables on SQLite so their ids are never handed out
again (see :mod:`services.common.db`). :func:`seed_rows` and :func:`unseed_rows` add
and remove a migration's default rows (a notification template, say), keeping a row an
admin already made under the same key.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from services.common.db import UTCDateTime

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _outbox_events() -> None:
    op.create_table(
        "outbox_events",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("published_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_outbox_events_event_id")),
    )
    op.create_index(op.f("ix_outbox_events_published_at"), "outbox_events", ["published_at"])


def _idempotency_records() -> None:
    op.create_table(
        "idempotency_records",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("headers", sa.JSON(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_records")),
        sa.UniqueConstraint("scope", "key", name="uq_idempotency_scope_key"),
    )
    op.create_index(
        op.f("ix_idempotency_records_created_at"), "idempotency_records", ["created_at"]
    )


def _processed_events() -> None:
    op.create_table(
        "processed_events",
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("processed_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_processed_events")),
    )
    op.create_index(op.f("ix_processed_events_processed_at"), "processed_events", ["processed_at"])


def _failed_jobs() -> None:
    op.create_table(
        "failed_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_name", sa.String(length=128), nullable=False),
        sa.Column("task_id", sa.String(length=64), nullable=True),
        sa.Column("args", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("failed_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_failed_jobs")),
    )
    op.create_index(op.f("ix_failed_jobs_failed_at"), "failed_jobs", ["failed_at"])
    op.create_index(op.f("ix_failed_jobs_task_name"), "failed_jobs", ["task_name"])


_CREATORS = {
    "outbox_events": _outbox_events,
    "idempotency_records": _idempotency_records,
    "processed_events": _processed_events,
    "failed_jobs": _failed_jobs,
}


def create_platform_tables(*names: str) -> None:
    """Create the named shared tables (with their indexes)."""
    for name in names:
        _CREATORS[name]()


def drop_platform_tables(*names: str) -> None:
    """Drop the named shared tables (their indexes go with them)."""
    for name in names:
        op.drop_table(name)


def seed_rows(table: sa.TableClause, key: str, rows: list[dict]) -> None:
    """Insert the rows whose ``key`` column value is not in the table yet, stamped with
    ``created_at``/``updated_at`` now (an existing row, made by an admin, is kept)."""
    column = table.c[key]
    values = [row[key] for row in rows]
    taken = set(op.get_bind().scalars(sa.select(column).where(column.in_(values))))
    now = datetime.now(UTC)
    missing = [{**row, "created_at": now, "updated_at": now} for row in rows]
    missing = [row for row in missing if row[key] not in taken]
    if missing:
        op.bulk_insert(table, missing)


def unseed_rows(table: sa.TableClause, key: str, rows: list[dict]) -> None:
    """Delete the rows :func:`seed_rows` would add (by their ``key``)."""
    op.execute(table.delete().where(table.c[key].in_([row[key] for row in rows])))


def never_reuse_ids(*tables: str) -> None:
    """Rebuild ``tables`` on SQLite with ``AUTOINCREMENT``, so a deleted highest id is
    never given to a new row; the sequence starts at the highest id the table holds.
    Nothing to do elsewhere: PostgreSQL's sequences never go back.

    The rebuild copies the rows into a new table and renames it (Alembic's batch mode,
    which recreates the indexes and constraints it reflects). The platform never turns
    SQLite's ``foreign_keys`` pragma on, so dropping the old table cascades nothing."""
    _rebuild(tables, autoincrement=True)


def allow_id_reuse(*tables: str) -> None:
    """Undo :func:`never_reuse_ids` (for a downgrade)."""
    _rebuild(tables, autoincrement=False)


def _rebuild(tables: tuple[str, ...], *, autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in tables:
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
        ):
            pass


def add_cap_slot(table: str, owner: str, counted: str | None = None) -> None:
    """Put ``table`` under a per-``owner`` cap (:mod:`services.common.caps`): a nullable
    ``cap_slot`` column, numbered 1, 2, ... per owner (oldest first) for the rows that
    count (``counted``: an SQL condition; every row when None), and the unique index on
    (owner, slot). An owner already past the cap keeps every row; new ones are refused
    until enough are gone."""
    op.add_column(table, sa.Column("cap_slot", sa.SmallInteger(), nullable=True))
    condition = f"WHERE {counted}" if counted else ""
    op.execute(
        f"UPDATE {table} SET cap_slot = (SELECT numbered.n FROM (SELECT id, ROW_NUMBER() "
        f"OVER (PARTITION BY {owner} ORDER BY id) AS n FROM {table} {condition}) AS numbered "
        f"WHERE numbered.id = {table}.id) {condition}"
    )
    op.create_index(f"uq_{table}_{owner}_cap_slot", table, [owner, "cap_slot"], unique=True)


def drop_cap_slot(table: str, owner: str) -> None:
    """Undo :func:`add_cap_slot`."""
    op.drop_index(f"uq_{table}_{owner}_cap_slot", table_name=table)
    with op.batch_alter_table(table) as batch:
        batch.drop_column("cap_slot")
