"""Fixtures for the comment service: the app on a real database and Redis, the real user
service and project-task service over HTTP, accounts made once per run, a team (a
project with a member of each role and a task), and real event envelopes."""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import pytest
from flask import g
from flask_migrate import upgrade
from sqlalchemy import func, select

from services.comment import MIGRATIONS, create_app
from services.comment.config import Config
from services.comment.extensions import db
from services.comment.models import OutboxEvent
from services.common.events import build_envelope
from services.common.testing import configure_for_tests, empty_tables


@pytest.fixture(scope="session")
def _comment_app(backing, user_service, project_task_service):
    config = configure_for_tests(
        Config(),
        backing.database_url("comment"),
        backing.redis_url,
        USER_SERVICE_URL=user_service.url,
        PROJECT_TASK_SERVICE_URL=project_task_service.url,
        RATELIMIT_USER="100000/minute",
    )
    app = create_app(config)
    with app.app_context():
        upgrade(directory=str(MIGRATIONS))
    return app


@pytest.fixture
def app(_comment_app):
    # No app context is held during the test: each request gets its own, as in production.
    yield _comment_app
    _comment_app.extensions["task_access"].clear()
    _comment_app.extensions["profile_directory"].clear()
    with _comment_app.app_context():
        empty_tables(db)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def database(app):
    """``with database() as session:`` reads or changes rows outside any request."""

    @contextmanager
    def session():
        with app.app_context():
            yield db.session
            db.session.remove()

    return session


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
    return SimpleNamespace(project=project, task=task, url=f"/api/tasks/{task['id']}/comments")


@pytest.fixture
def post_comment(client, team, people):
    """``post_comment(content, by=people.member)``: a comment on the team's task."""

    def post(content: str = "Looks good", by: Any = None) -> dict:
        response = client.post(
            team.url, json={"content": content}, headers=(by or people.member).headers
        )
        assert response.status_code == 201, response.json
        return response.json

    return post


@pytest.fixture
def outbox(database):
    """``outbox(type=None)``: the payloads of the outbox rows (of one type), oldest first."""

    def payloads(event_type: str | None = None) -> list[dict]:
        query = select(OutboxEvent).order_by(OutboxEvent.id)
        if event_type:
            query = query.where(OutboxEvent.type == event_type)
        with database() as session:
            return [row.payload for row in session.scalars(query)]

    return payloads


@pytest.fixture
def count_rows(database):
    """``count_rows(Model)``: how many rows the table holds."""

    def count(model) -> int:
        with database() as session:
            return session.scalar(select(func.count()).select_from(model))

    return count


@pytest.fixture
def envelope(app):
    """``envelope("task.deleted", actor=..., entity=("task", 1), ...)``: a real envelope
    built by ``services.common.events`` inside a request."""

    def build(event_type: str, *, actor: Any, entity: tuple[str, int], **fields: Any) -> dict:
        with app.test_request_context():
            g.request_id = uuid.uuid4().hex
            return build_envelope(event_type, actor=actor, entity=entity, **fields)

    return build


@pytest.fixture
def consume(app):
    """Run the ``comment.consume_event`` job in this process, as a worker would."""
    task = app.extensions["celery"].tasks["comment.consume_event"]

    def run(*envelopes: dict[str, Any]) -> None:
        for each in envelopes:
            result = task.apply(args=[each])
            assert result.successful(), result.traceback

    return run
