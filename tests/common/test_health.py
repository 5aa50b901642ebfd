"""``GET /health/ready`` tells the truth about the schema: 503 naming ``migrations`` until
the service's database is at its newest Alembic revision, 200 from then on, and still
200 when a later release's migration already ran (a rolling update)."""

from __future__ import annotations

import pytest
from alembic.script import ScriptDirectory
from flask_migrate import stamp, upgrade

from services.common.testing import configure_for_tests
from services.project_task import MIGRATIONS, create_app
from services.project_task.config import Config

FIRST, SECOND = "aa7e26e0aef3", "b3c1f0d2e4a5"
# The newest revision in the migration scripts, whichever migration came last.
HEAD = ScriptDirectory(str(MIGRATIONS)).get_current_head()


@pytest.fixture
def fresh_app(backing):
    """project-task on a new, empty database (every migration to go)."""
    config = configure_for_tests(Config(), backing.database_url("ready"), backing.redis_url)
    return create_app(config)


def ready(app):
    return app.test_client().get("/health/ready")


def migrate(app, revision: str) -> None:
    with app.app_context():
        upgrade(directory=str(MIGRATIONS), revision=revision)


def test_not_ready_before_the_migration_job_runs(fresh_app):
    response = ready(fresh_app)
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    body = response.json
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["migrations"] == f"behind: at none, head {HEAD}"
    assert body["detail"] == "Not ready: migrations."


def test_not_ready_halfway_then_ready_at_head(fresh_app):
    migrate(fresh_app, SECOND)
    response = ready(fresh_app)
    assert response.status_code == 503
    assert response.json["checks"]["migrations"] == f"behind: at {SECOND}, head {HEAD}"
    migrate(fresh_app, "head")
    response = ready(fresh_app)
    assert response.status_code == 200
    assert response.json["checks"] == {"redis": "ok", "database": "ok", "migrations": "ok"}


def test_ready_when_a_later_release_already_migrated(fresh_app):
    migrate(fresh_app, "head")
    with fresh_app.app_context():
        stamp(directory=str(MIGRATIONS), revision=FIRST)
    assert ready(fresh_app).status_code == 503
    with fresh_app.app_context():
        from services.project_task.extensions import db

        with db.engine.begin() as connection:
            connection.exec_driver_sql("UPDATE alembic_version SET version_num = 'f00dfeedbeef'")
    assert ready(fresh_app).status_code == 200


def test_schema_is_not_checked_while_the_database_is_away(backing):
    from tests.support.backing import free_port

    url = f"postgresql://nobody@127.0.0.1:{free_port()}/none"
    app = create_app(configure_for_tests(Config(), url, backing.redis_url))
    response = ready(app)
    assert response.status_code == 503
    checks = response.json["checks"]
    assert checks["database"].startswith("error")
    assert checks["migrations"] == "not checked"
