"""Ids are never handed out twice, in any service's database, on SQLite (the embedded
default) and PostgreSQL: for every table with an integer id, a row made after the newest
one was deleted gets a new id, so a later project, task, comment, file, report, webhook
or user never inherits what other services still keep under a deleted one's id.

Each service's real migrations build a fresh database; rows are written through its own
table definitions. On SQLite the migrated schema must also still match the models (the
rebuild that adds AUTOINCREMENT keeps every index and constraint)."""

from __future__ import annotations

import importlib
import itertools
import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade

from services.common.migration_env import include_object
from services.common.testing import configure_for_tests

SERVICES = (
    "user",
    "project_task",
    "comment",
    "attachment",
    "notification",
    "activity_log",
    "reporting",
)


def _service_app(package: str, url: str, redis_url: str) -> Any:
    module = importlib.import_module(f"services.{package}")
    config = importlib.import_module(f"services.{package}.config").Config()
    app = module.create_app(configure_for_tests(config, url, redis_url))
    with app.app_context():
        upgrade(directory=str(module.MIGRATIONS))
    return app


def _integer_id(table: sa.Table) -> sa.Column | None:
    """The table's generated integer id; None for a natural key (``autoincrement=False``,
    such as a row keyed by a user id that belongs to another service)."""
    columns = list(table.primary_key.columns)
    if (
        len(columns) == 1
        and isinstance(columns[0].type, sa.Integer)
        and columns[0].autoincrement is not False
    ):
        return columns[0]
    return None


_NUMBERS = itertools.count(1)


def _value(column: sa.Column, parents: dict[str, list[int]], taken: list[str]) -> Any:
    """Something the column takes: a row of a referenced table (a different one for each
    key of the row pointing at that table, as a relation between two tasks needs), else
    a fresh value of its type (unique where the type allows)."""
    for key in column.foreign_keys:
        name = key.column.table.name
        taken.append(name)
        return parents[name][(taken.count(name) - 1) % len(parents[name])]
    kind = column.type
    if isinstance(kind, sa.types.TypeDecorator):
        kind = kind.impl
    if isinstance(kind, sa.JSON):
        return {}
    if isinstance(kind, sa.String):
        return uuid.uuid4().hex[: kind.length or 32]
    python_type = kind.python_type
    if python_type is datetime:
        return datetime.now(UTC)
    if python_type is date:
        return datetime.now(UTC).date()
    if python_type is int:
        # Small, positive and fresh: within a check's range, never a unique one's clash.
        return next(_NUMBERS)
    return python_type()  # False, 0.0, ...


def _insert(connection: sa.Connection, table: sa.Table, parents: dict[str, list[int]]) -> int:
    taken: list[str] = []
    values = {
        column.name: _value(column, parents, taken)
        for column in table.columns
        if not column.primary_key and not column.nullable and column.default is None
    }
    return connection.execute(table.insert().values(**values)).inserted_primary_key[0]


def _insert_keyed(connection: sa.Connection, table: sa.Table, parents: dict[str, list]) -> Any:
    """A row of a table with a natural key (its key columns given too); its key."""
    taken: list[str] = []
    values = {
        column.name: _value(column, parents, taken)
        for column in table.columns
        if column.primary_key or (not column.nullable and column.default is None)
    }
    return connection.execute(table.insert().values(**values)).inserted_primary_key[0]


def assert_ids_not_reused(app: Any) -> list[str]:
    """Per table with an integer id: insert two rows, delete the newest, insert again:
    the third id is above the second. Returns the tables checked."""
    db = app.extensions["sqlalchemy"]
    checked, parents, wrong = [], {}, []
    with app.app_context(), db.engine.begin() as connection:
        for table in db.metadata.sorted_tables:
            id_column = _integer_id(table)
            if id_column is None:
                # Keyed by something else (a content hash): a row for tables that refer to it.
                if any(
                    key.column.table is table
                    for other in db.metadata.sorted_tables
                    for key in other.foreign_keys
                ):
                    parents[table.name] = [_insert_keyed(connection, table, parents)]
                continue
            first = _insert(connection, table, parents)
            parents[table.name] = [first]
            newest = _insert(connection, table, parents)
            connection.execute(table.delete().where(id_column == newest))
            again = _insert(connection, table, parents)
            parents[table.name].append(again)
            if again <= newest:
                wrong.append(f"{table.name}: id {newest} deleted, then given again as {again}")
            checked.append(table.name)
    assert not wrong, "ids handed out twice:\n" + "\n".join(wrong)
    return checked


@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression")
@pytest.mark.parametrize("package", SERVICES)
def test_sqlite_never_gives_a_deleted_id_again(package, backing, tmp_path):
    app = _service_app(package, f"sqlite:///{tmp_path / 'ids.db'}", backing.redis_url)

    checked = assert_ids_not_reused(app)

    assert checked, "no table with an integer id was checked"
    db = app.extensions["sqlalchemy"]
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_object": include_object})
        assert compare_metadata(context, db.metadata) == []
        schema = dict(connection.execute(sa.text("SELECT name, sql FROM sqlite_master")).all())
    assert all("AUTOINCREMENT" in schema[name] for name in checked)


@pytest.mark.parametrize("package", SERVICES)
def test_postgresql_never_gives_a_deleted_id_again(package, backing):
    if not backing.postgres:
        pytest.skip("PostgreSQL is not reachable (REQUIRE_SERVICES=1 makes this a failure)")
    app = _service_app(package, backing.database_url(f"ids_{package}"), backing.redis_url)

    assert assert_ids_not_reused(app)


def test_downgrading_past_the_rebuild_and_back_keeps_the_rows(backing, tmp_path):
    """The SQLite rebuild copies every row, both ways."""
    from flask_migrate import downgrade

    from services.comment import MIGRATIONS

    app = _service_app("comment", f"sqlite:///{tmp_path / 'comments.db'}", backing.redis_url)
    db = app.extensions["sqlalchemy"]
    comments = db.metadata.tables["comments"]
    with app.app_context():
        with db.engine.begin() as connection:
            ids = [_insert(connection, comments, {}) for _ in range(3)]
        downgrade(directory=str(MIGRATIONS), revision="-1")
        upgrade(directory=str(MIGRATIONS))
        with db.engine.connect() as connection:
            kept = connection.execute(sa.select(comments.c.id).order_by(comments.c.id))
            assert list(kept.scalars()) == ids
            db.engine.dispose()
