"""Fixtures for the comment service: the app on a real database and Redis, the real user
service and project-task service over HTTP, accounts made once per run, a team (a
project with a member of each role and a task), and real event envelopes."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from flask_migrate import upgrade

from services.comment import MIGRATIONS, create_app
from services.comment.config import Config
from services.comment.extensions import db
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
def consume(app):
    """Run the ``comment.consume_event`` job in this process, as a worker would."""
    task = app.extensions["celery"].tasks["comment.consume_event"]

    def run(*envelopes: dict[str, Any]) -> None:
        for each in envelopes:
            result = task.apply(args=[each])
            assert result.successful(), result.traceback

    return run
