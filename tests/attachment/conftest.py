"""Fixtures for the attachment service: the app on a real database, Redis and a storage
directory, the real user service and project-task service over HTTP, accounts made once
per run, a team (a project with a member of each role and a task), uploads, and real
event envelopes."""

from __future__ import annotations

import io
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from flask_migrate import upgrade
from sqlalchemy import func, select

from services.attachment import MIGRATIONS, create_app
from services.attachment.config import Config
from services.attachment.extensions import db
from services.attachment.models import Attachment, OutboxEvent
from services.common.testing import configure_for_tests, empty_tables


@pytest.fixture(scope="session")
def storage_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("uploads")


@pytest.fixture(scope="session")
def _attachment_app(backing, user_service, project_task_service, storage_dir):
    config = configure_for_tests(
        Config(),
        backing.database_url("attachment"),
        backing.redis_url,
        USER_SERVICE_URL=user_service.url,
        PROJECT_TASK_SERVICE_URL=project_task_service.url,
        RATELIMIT_USER="100000/minute",
        ATTACHMENT_STORAGE_DIR=str(storage_dir),
    )
    app = create_app(config)
    with app.app_context():
        upgrade(directory=str(MIGRATIONS))
    return app


@pytest.fixture
def app(_attachment_app, storage_dir):
    # No app context is held during the test: each request gets its own, as in production.
    yield _attachment_app
    _attachment_app.extensions["task_access"].clear()
    with _attachment_app.app_context():
        empty_tables(db)
    for child in storage_dir.iterdir():
        shutil.rmtree(child) if child.is_dir() else child.unlink()


@pytest.fixture
def stored_files(storage_dir):
    """``stored_files()``: every file in the storage directory (partial ones included)."""

    def files() -> list[Path]:
        return sorted(path for path in storage_dir.rglob("*") if path.is_file())

    return files


@pytest.fixture
def nothing_kept(stored_files, database):
    """``nothing_kept()``: no file on disk, no attachment row and no event."""

    def check() -> bool:
        with database() as session:
            rows = session.scalar(select(func.count()).select_from(Attachment))
            events = session.scalar(select(func.count()).select_from(OutboxEvent))
        return stored_files() == [] and rows == 0 and events == 0

    return check


@pytest.fixture(scope="session")
def people(user_service) -> SimpleNamespace:
    """Accounts made once per run: ``owner``, ``admin``, ``member``, ``viewer``,
    ``stranger`` and ``root`` (a global admin who is no member of any project)."""
    names = ("owner", "admin", "member", "viewer", "stranger")
    return SimpleNamespace(
        **{name: user_service.account() for name in names},
        root=user_service.account(admin=True),
    )


@pytest.fixture
def team(project_task_service, people) -> SimpleNamespace:
    """A project of ``people.owner`` with ``admin``, ``member`` and ``viewer`` in those
    roles, and one task in it."""
    project = project_task_service.project(people.owner)
    for role in ("admin", "member", "viewer"):
        project_task_service.add_member(project, getattr(people, role), role, by=people.owner)
    task = project_task_service.task(project, by=people.owner)
    return SimpleNamespace(project=project, task=task, url=f"/api/tasks/{task['id']}/attachments")


@pytest.fixture
def upload(client, team, people):
    """``upload(content, filename, by=people.member, task=None, headers=None)``: the
    response to a multipart upload of ``content`` in the field ``file``."""

    def send(
        content: bytes = b"hello, world\n",
        filename: str = "notes.txt",
        by: Any = None,
        task: dict | None = None,
        headers: dict | None = None,
    ):
        url = f"/api/tasks/{task['id']}/attachments" if task else team.url
        return client.post(
            url,
            data={"file": (io.BytesIO(content), filename)},
            content_type="multipart/form-data",
            headers={**(by or people.member).headers, **(headers or {})},
        )

    return send


@pytest.fixture
def consume(app):
    """Run the ``attachment.consume_event`` job in this process, as a worker would."""
    task = app.extensions["celery"].tasks["attachment.consume_event"]

    def run(*envelopes: dict[str, Any]) -> None:
        for each in envelopes:
            result = task.apply(args=[each])
            assert result.successful(), result.traceback

    return run
