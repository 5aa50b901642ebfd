"""Activity-log service: the audit trail of every event, its feed, stats and export (docs/services.md)."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from services.activity_log.config import Config
from services.activity_log.extensions import db, limiter, migrate
from services.common import auth, init_service, make_api, memberships, ratelimit
from services.common.celery_app import init_worker
from services.common.config import REPO_ROOT

MIGRATIONS = Path(REPO_ROOT, "migrations", "activity_log")


def create_app(config: object | None = None) -> Flask:
    """Build the activity-log service."""
    app = Flask(__name__)
    app.config.from_object(config or Config())
    init_service(app)
    register_extensions(app)
    register_jobs(app)
    register_blueprints(app)
    return app


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS))
    ratelimit.init_app(app, limiter)
    # No verifier given: tokens are checked against the user service's /internal/auth/verify.
    auth.init_app(app)
    memberships.init_app(app)


def register_jobs(app: Flask) -> None:
    from services.activity_log import jobs  # noqa: F401 (registers the tasks)
    from services.activity_log.models import FailedJob, ProcessedEvent

    init_worker(
        app,
        db,
        "activity-log",
        failed_jobs=FailedJob,
        processed_events=ProcessedEvent,
    )


def register_blueprints(app: Flask) -> None:
    from services.activity_log import internal
    from services.activity_log.activities.resources import blp as activities_blp

    api = make_api(app)
    api.register_blueprint(activities_blp)
    app.register_blueprint(internal.blueprint)
