"""The migrations build exactly the schema the models describe (expression indexes,
which autogenerate cannot compare, are checked by the query that uses them:
test_query_counts.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade

from services.common.migration_env import include_object
from services.common.testing import configure_for_tests
from services.project_task import MIGRATIONS, create_app
from services.project_task.config import Config
from services.project_task.extensions import db
from services.project_task.models import Task


def test_migrated_database_matches_the_models(app):
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_object": include_object})
        differences = compare_metadata(context, db.metadata)
    assert differences == []


@pytest.mark.parametrize("engine", ["postgresql", "sqlite"])
def test_existing_tasks_get_board_positions_in_the_default_order(backing, tmp_path, engine):
    """The board migration numbers each column 1024 apart, newest first (the default
    list order, ties by id), on PostgreSQL and on SQLite."""
    url = (
        backing.database_url("pt_board") if engine == "postgresql" else f"sqlite:///{tmp_path}/b.db"
    )
    if engine == "postgresql" and not url.startswith("postgresql"):
        pytest.fail("PostgreSQL is not reachable")
    app = create_app(configure_for_tests(Config(), url, backing.redis_url))
    with app.app_context():
        upgrade(directory=str(MIGRATIONS), revision="d8a4c6e2f1b7")
        now = datetime(2026, 1, 1, tzinfo=UTC)
        with db.engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO projects (id, name, status, priority, owner_id, visibility,"
                    " is_template, created_at, updated_at) VALUES"
                    " (1, 'p', 'active', 'medium', 1, 'private', false, :now, :now),"
                    " (2, 'q', 'active', 'medium', 1, 'private', false, :now, :now)"
                ),
                {"now": now},
            )
            rows = [
                (1, 1, "todo", now),
                (2, 1, "todo", now + timedelta(days=2)),
                (3, 1, "todo", now + timedelta(days=1)),
                (4, 1, "done", now),
                (5, 1, "todo", now + timedelta(days=2)),  # same time as 2: by id
                (6, 2, "todo", now),
            ]
            for task_id, project_id, status, created in rows:
                connection.execute(
                    sa.text(
                        "INSERT INTO tasks (id, project_id, title, status, priority,"
                        " reporter_id, spent_minutes, created_at, updated_at) VALUES"
                        " (:id, :project, 't', :status, 'medium', 1, 0, :created, :created)"
                    ),
                    {"id": task_id, "project": project_id, "status": status, "created": created},
                )
        upgrade(directory=str(MIGRATIONS))
        positions = dict(db.session.execute(sa.select(Task.id, Task.position)).all())
        db.session.remove()
        db.engine.dispose()
    assert positions == {2: 1024, 5: 2048, 3: 3072, 1: 4096, 4: 1024, 6: 1024}
