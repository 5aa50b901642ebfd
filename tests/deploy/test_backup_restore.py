"""The image's ``backup`` and ``restore`` roles (scripts/docker-entrypoint, scripts/backup.py)
against the local PostgreSQL: a backup of every service's database and the upload and
report files, restored into freshly migrated databases and empty directories, gives
back the same rows and the same files; a damaged backup is refused before anything
changes. (scripts/container-smoke does the same round trip between two real stacks.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from contextlib import closing
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import pytest
from psycopg2 import sql
from sqlalchemy import create_engine, inspect, text

from scripts import stack
from services.common.config import database_url as sqlalchemy_url
from services.common.registry import SERVICES
from tests.support.backing import POSTGRES_URL

ENTRYPOINT = stack.REPO / "scripts" / "docker-entrypoint"
NOW = "2026-12-01 10:00:00+00"


def entrypoint(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ENTRYPOINT), *args],
        env={**os.environ, "DB_WAIT_SECONDS": "5", **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def database_env(urls: dict[str, str]) -> dict[str, str]:
    return {f"{SERVICES[name].env_prefix}_DATABASE_URL": url for name, url in urls.items()}


def execute(url: str, *statements: str) -> None:
    engine = create_engine(sqlalchemy_url(url))
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement))
    engine.dispose()


def snapshot(url: str) -> dict[str, list[tuple]]:
    """Every row of every table of one database, in a stable order."""
    engine = create_engine(sqlalchemy_url(url))
    tables = {}
    with engine.connect() as connection:
        for table in sorted(inspect(connection).get_table_names()):
            rows = connection.execute(text(f'SELECT * FROM "{table}"')).all()
            tables[table] = sorted(tuple(map(repr, row)) for row in rows)
    engine.dispose()
    return tables


def tree(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def migrated(backing) -> dict[str, str]:
    """One migrated database per service, copied for each stack (migrating is slow)."""
    if not backing.postgres:
        pytest.skip("backup and restore need PostgreSQL (pg_dump)")
    urls = {s.name: backing.database_url(f"{s.package}_migrated") for s in stack.built_services()}
    result = entrypoint("migrate", env=database_env(urls))
    assert result.returncode == 0, result.stderr[-3000:]
    return urls


def copy_database(template_url: str, name: str) -> str:
    """A new database made from a migrated one (nothing may be connected to it)."""
    template = urlsplit(template_url).path.lstrip("/")
    with closing(psycopg2.connect(POSTGRES_URL)) as admin:
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(name), sql.Identifier(template)
                )
            )
    return urlunsplit(urlsplit(POSTGRES_URL)._replace(path="/" + name))


def drop_databases(names: list[str]) -> None:
    with closing(psycopg2.connect(POSTGRES_URL)) as admin:
        admin.autocommit = True
        with admin.cursor() as cursor:
            for name in names:
                statement = "DROP DATABASE IF EXISTS {} WITH (FORCE)"
                cursor.execute(sql.SQL(statement).format(sql.Identifier(name)))


@pytest.fixture
def stacks(migrated, tmp_path):
    """Two sets of migrated service databases and file directories: one to fill with
    data, one empty, as two stacks would have."""
    made, copies = {}, []
    for side in ("source", "target"):
        urls = {}
        for name, url in migrated.items():
            copies.append(f"test_{SERVICES[name].package}_{side}_{uuid.uuid4().hex[:8]}")
            urls[name] = copy_database(url, copies[-1])
        uploads, reports = tmp_path / side / "uploads", tmp_path / side / "reports"
        uploads.mkdir(parents=True)
        reports.mkdir(parents=True)
        env = {
            **database_env(urls),
            "ATTACHMENT_STORAGE_DIR": str(uploads),
            "REPORT_STORAGE_DIR": str(reports),
            "BACKUP_DIR": str(tmp_path / "backups"),
        }
        made[side] = {"urls": urls, "uploads": uploads, "reports": reports, "env": env}
    yield made
    drop_databases(copies)


def seed(source: dict) -> None:
    urls = source["urls"]
    execute(
        urls["user"],
        "INSERT INTO users (username, email, password_hash, role, is_active, failed_logins,"
        f" created_at, updated_at) VALUES ('alice', 'alice@example.com', 'x', 'user', true, 0,"
        f" '{NOW}', '{NOW}'), ('bob', 'bob@example.com', 'y', 'admin', true, 0, '{NOW}', '{NOW}')",
    )
    execute(
        urls["project-task"],
        "INSERT INTO projects (name, status, priority, visibility, is_template, owner_id,"
        " created_at, updated_at) VALUES ('Launch', 'active', 'high', 'private', false, 1,"
        f" '{NOW}', '{NOW}')",
        "INSERT INTO project_members (project_id, user_id, role, created_at, updated_at)"
        f" VALUES (1, 1, 'owner', '{NOW}', '{NOW}')",
        "INSERT INTO tasks (project_id, title, status, priority, reporter_id, position,"
        f" created_at, updated_at) VALUES (1, 'Write docs', 'todo', 'low', 1, 1024, '{NOW}',"
        f" '{NOW}')",
    )
    execute(
        urls["attachment"],
        "INSERT INTO attachments (task_id, project_id, filename, content_type, size, sha256,"
        f" storage_key, uploaded_by, created_at) VALUES (1, 1, 'notes.txt', 'text/plain', 5,"
        f" 'abc', 'ab/cdef', 1, '{NOW}')",
    )
    (source["uploads"] / "ab").mkdir()
    (source["uploads"] / "ab" / "cdef").write_bytes(b"hello")
    (source["reports"] / "report-1.csv").write_text("id,title\n1,Write docs\n")


def test_a_backup_restores_into_an_empty_stack(stacks):
    source, target = stacks["source"], stacks["target"]
    seed(source)
    (target["uploads"] / "stray").write_text("not in the backup")

    made = entrypoint("backup", env=source["env"])
    assert made.returncode == 0, made.stderr[-3000:]
    [backup] = [p for p in (Path(source["env"]["BACKUP_DIR"])).iterdir()]
    manifest = json.loads((backup / "manifest.json").read_text())
    assert set(manifest["databases"]) == {s.name for s in stack.built_services()}
    assert set(manifest["files"]) == {"uploads", "reports"}

    restored = entrypoint("restore", env=target["env"])
    assert restored.returncode == 0, restored.stderr[-3000:]
    assert f"restore complete from {backup}" in restored.stderr

    for name, url in source["urls"].items():
        assert snapshot(target["urls"][name]) == snapshot(url), name
    assert tree(target["uploads"]) == {"ab/cdef": b"hello"}
    assert tree(target["reports"]) == tree(source["reports"])
    # Sequences came along: the next account continues after the restored ones.
    execute(
        target["urls"]["user"],
        "INSERT INTO users (username, email, password_hash, role, is_active, failed_logins,"
        f" created_at, updated_at) VALUES ('carol', 'c@example.com', 'z', 'user', true, 0,"
        f" '{NOW}', '{NOW}')",
    )
    users = snapshot(target["urls"]["user"])["users"]
    assert sorted(row[0] for row in users) == ["1", "2", "3"]


def test_a_damaged_backup_is_refused_and_changes_nothing(stacks):
    source, target = stacks["source"], stacks["target"]
    seed(source)
    assert entrypoint("backup", env=source["env"]).returncode == 0
    [backup] = list(Path(source["env"]["BACKUP_DIR"]).iterdir())
    dump = backup / "project-task.dump"
    data = bytearray(dump.read_bytes())
    data[-1] ^= 0xFF
    dump.write_bytes(bytes(data))
    (target["uploads"] / "kept").write_text("still here")
    before = {name: snapshot(url) for name, url in target["urls"].items()}

    result = entrypoint("restore", env=target["env"])
    assert result.returncode == 1
    assert "project-task.dump is missing or damaged" in result.stderr
    assert {name: snapshot(url) for name, url in target["urls"].items()} == before
    assert tree(target["uploads"]) == {"kept": b"still here"}

    # A backup still being written (or cut short) is never chosen.
    backup.rename(backup.with_name("20990101T000000Z.partial"))
    result = entrypoint("restore", env=target["env"])
    assert result.returncode == 1
    assert "no backup in" in result.stderr
