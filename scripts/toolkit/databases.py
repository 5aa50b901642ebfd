"""PostgreSQL databases for local runs, benchmarks and tests: created, ensured, dropped.

``server`` is the URL of any database on the server to administer it through (the
``postgres`` database, usually); names are quoted as identifiers, never formatted in.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import psycopg2
from psycopg2 import sql
from psycopg2.extensions import connection as Connection


def database_url(server: str, name: str) -> str:
    """The URL of database ``name`` on the server ``server`` points at."""
    return urlunsplit(urlsplit(server)._replace(path="/" + name))


@contextmanager
def admin_connection(server: str) -> Iterator[Connection]:
    """An autocommit connection (CREATE and DROP DATABASE run outside transactions)."""
    connection = psycopg2.connect(server, connect_timeout=5)
    connection.autocommit = True
    try:
        yield connection
    finally:
        connection.close()


def create_database(server: str, name: str, *, replace: bool = False) -> None:
    """Create an empty database ``name``; with ``replace``, drop one of that name first."""
    with admin_connection(server) as connection, connection.cursor() as cursor:
        if replace:
            cursor.execute(_drop(name))
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def ensure_database(url: str) -> None:
    """Create the database ``url`` names when it does not exist yet."""
    name = urlsplit(url).path.lstrip("/")
    server = database_url(url, "postgres")
    with admin_connection(server) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if cursor.fetchone() is None:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(server: str, name: str) -> None:
    """Drop database ``name`` if it exists, ending its sessions."""
    with admin_connection(server) as connection, connection.cursor() as cursor:
        cursor.execute(_drop(name))


def _drop(name: str) -> sql.Composed:
    return sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
