"""Helpers for the test suite: configuration of a service under test and a clean
database between tests. (Test-only code: production code never imports this module.)"""

from __future__ import annotations

from typing import Any

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import text

from services.common.config import database_url as normalized_url
from services.common.config import engine_options


def configure_for_tests(config: Any, database_url: str, redis_url: str, **overrides: Any) -> Any:
    """Point a service's config object at the test database and Redis."""
    config.SQLALCHEMY_DATABASE_URI = normalized_url(database_url)
    config.SQLALCHEMY_ENGINE_OPTIONS = engine_options(database_url)
    config.REDIS_URL = redis_url
    config.RATELIMIT_STORAGE_URI = redis_url
    for key, value in overrides.items():
        setattr(config, key, value)
    return config


def empty_tables(db: SQLAlchemy) -> None:
    """Delete every row of every table of ``db`` (keeping the schema)."""
    db.session.remove()
    tables = [t.name for t in db.metadata.sorted_tables]
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            quoted = ", ".join(f'"{name}"' for name in tables)
            connection.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
        else:
            for name in reversed(tables):
                connection.execute(text(f'DELETE FROM "{name}"'))
