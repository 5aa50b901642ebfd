"""The migrations build exactly the schema the models describe."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade

from services.common.testing import configure_for_tests
from services.reporting import MIGRATIONS, create_app
from services.reporting.config import Config
from services.reporting.extensions import db


def test_migrated_database_matches_the_models(app):
    with app.app_context(), db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert differences == []


def test_reports_and_schedules_there_already_take_their_places_under_the_caps(backing):
    """Upgrading a database that holds reports and schedules: the active requested
    reports and every schedule are numbered per owner, oldest first; finished and
    scheduled reports hold no place."""
    config = configure_for_tests(Config(), backing.database_url("caps"), backing.redis_url)
    app = create_app(config)
    now = datetime.now(UTC)
    with app.app_context():
        upgrade(directory=str(MIGRATIONS), revision="ad22b2c44bee")
        with db.engine.begin() as connection:
            schedule_id = connection.execute(
                sa.text(
                    "INSERT INTO report_schedules (owner_id, type, params, format, frequency, "
                    "hour, next_run_at, created_at, updated_at) VALUES (7, 'overdue_tasks', "
                    "'{}', 'pdf', 'daily', 6, :now, :now, :now) RETURNING id"
                ),
                {"now": now},
            ).scalar_one()
            for requester, status, scheduled in [
                (7, "completed", None),
                (7, "pending", None),
                (8, "running", None),
                (7, "pending", schedule_id),
                (7, "running", None),
            ]:
                connection.execute(
                    sa.text(
                        "INSERT INTO reports (requester_id, type, params, format, status, "
                        "schedule_id, created_at) VALUES (:requester, 'overdue_tasks', '{}', "
                        "'json', :status, :scheduled, :now)"
                    ),
                    {"requester": requester, "status": status, "scheduled": scheduled, "now": now},
                )
        upgrade(directory=str(MIGRATIONS))
        with db.engine.connect() as connection:
            reports = connection.execute(
                sa.text("SELECT requester_id, status, cap_slot FROM reports ORDER BY id")
            ).all()
            schedules = connection.execute(sa.text("SELECT cap_slot FROM report_schedules")).all()
        db.engine.dispose()
    assert [tuple(row) for row in reports] == [
        (7, "completed", None),
        (7, "pending", 1),
        (8, "running", 1),
        (7, "pending", None),
        (7, "running", 2),
    ]
    assert [row.cap_slot for row in schedules] == [1]
