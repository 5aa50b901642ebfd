"""The migrations build the models' schema and seed a default template for every type."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import select

from services.common.testing import configure_for_tests
from services.notification import MIGRATIONS, create_app
from services.notification.catalog import DEFAULT_TEMPLATES
from services.notification.config import Config
from services.notification.extensions import db
from services.notification.models import NotificationTemplate


def test_migrated_database_matches_the_models(app):
    with app.app_context(), db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert differences == []


def test_a_fresh_database_has_every_default_template(backing):
    config = configure_for_tests(
        Config(), backing.database_url("notification_seed"), backing.redis_url
    )
    fresh = create_app(config)
    with fresh.app_context():
        upgrade(directory=str(MIGRATIONS))
        seeded = {
            t.name: (t.subject, t.body, t.channel)
            for t in db.session.scalars(select(NotificationTemplate))
        }
        db.session.remove()
        db.engine.dispose()
    assert seeded == {t.name: (t.subject, t.body, t.channel) for t in DEFAULT_TEMPLATES.values()}
