"""The migrations build exactly the schema the models describe (expression indexes,
which autogenerate cannot compare, are checked by the query that uses them:
test_query_counts.py)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from services.common.migration_env import include_object
from services.project_task.extensions import db


def test_migrated_database_matches_the_models(app):
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_object": include_object})
        differences = compare_metadata(context, db.metadata)
    assert differences == []
