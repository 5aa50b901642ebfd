"""Fixtures for the activity-log service: the app on a real database and Redis, a real
user service (over HTTP) for tokens, a stand-in for project-task's membership endpoint,
accounts made once per run, and a factory of real event envelopes."""

from __future__ import annotations

import os
from types import SimpleNamespace
from typing import Any

import pytest
from flask_migrate import upgrade

from services.activity_log import MIGRATIONS, create_app
from services.activity_log.config import Config
from services.activity_log.extensions import db
from services.common.redis_store import get_redis
from services.common.testing import configure_for_tests, empty_tables
from tests.activity_log.project_task_stand_in import start_project_task_stand_in


@pytest.fixture(scope="session")
def project_task():
    """The stand-in for ``GET /internal/users/<id>/projects`` of the project-task service."""
    stand_in, server = start_project_task_stand_in(os.environ["SERVICE_TOKEN"])
    yield stand_in
    server.shutdown()


@pytest.fixture(scope="session")
def _activity_app(backing, user_service, project_task):
    config = configure_for_tests(
        Config(),
        backing.database_url("activity_log"),
        backing.redis_url,
        USER_SERVICE_URL=user_service.url,
        PROJECT_TASK_SERVICE_URL=project_task.url,
        RATELIMIT_USER="100000/minute",
    )
    app = create_app(config)
    with app.app_context():
        upgrade(directory=str(MIGRATIONS))
    return app


@pytest.fixture
def app(_activity_app, project_task):
    # No app context is held during the test: each request gets its own, as in production.
    yield _activity_app
    project_task.reset()
    _activity_app.extensions["project_memberships"].clear()
    with _activity_app.app_context():
        empty_tables(db)
        get_redis().flushdb()


@pytest.fixture(scope="session")
def people(user_service) -> SimpleNamespace:
    """Accounts made once per run (activity rows are emptied between tests, users are not):
    ``admin`` (a global admin), ``member`` and ``stranger``."""
    return SimpleNamespace(
        admin=user_service.account(admin=True),
        member=user_service.account(),
        stranger=user_service.account(),
    )


@pytest.fixture
def consume(app):
    """Run the ``activity_log.consume_event`` job in this process, as a worker would."""
    task = app.extensions["celery"].tasks["activity_log.consume_event"]

    def run(*envelopes: dict[str, Any]) -> None:
        for each in envelopes:
            result = task.apply(args=[each])
            assert result.successful(), result.traceback

    return run
