"""Reporting service: report jobs and their files, quick dashboards, scheduled reports
(docs/services.md).

Where the numbers come from: aggregate queries that the owning services run on their
own tables and serve on internal endpoints (project-task's ``/internal/reports/*``,
activity-log's ``/internal/activities/summary``), one call per report or quick view and
never one per row. So a report always shows exactly what the project-task API would
count at that moment, with no read model to fall behind or rebuild; the price is a
call to project-task per report, which its indexes keep cheap (see
``services/reporting/sources.py``). Access is checked here first, against project-task's
membership answer.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from services.common import auth, events, idempotency, init_service, make_api, ratelimit
from services.common.celery_app import init_worker
from services.common.config import REPO_ROOT
from services.reporting.config import Config
from services.reporting.extensions import db, limiter, migrate

MIGRATIONS = Path(REPO_ROOT, "migrations", "reporting")


def create_app(config: object | None = None) -> Flask:
    """Build the reporting service (its API and, in the worker, its jobs)."""
    app = Flask(__name__)
    app.config.from_object(config or Config())
    init_service(app)
    register_extensions(app)
    register_jobs(app)
    register_blueprints(app)
    return app


def register_extensions(app: Flask) -> None:
    from services.reporting import models, storage

    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS))
    ratelimit.init_app(app, limiter)
    # No verifier given: tokens are checked against the user service's /internal/auth/verify.
    auth.init_app(app)
    events.init_app(app, db, models.OutboxEvent)
    idempotency.init_app(app, db, models.IdempotencyRecord)
    storage.init_app(app)


def register_jobs(app: Flask) -> None:
    from services.reporting import jobs, models  # noqa: F401 (registers the jobs)

    init_worker(
        app,
        db,
        "reporting",
        failed_jobs=models.FailedJob,
    )


def register_blueprints(app: Flask) -> None:
    from services.reporting.quick.resources import blp as quick_blp
    from services.reporting.reports.resources import blp as reports_blp
    from services.reporting.schedules.resources import blp as schedules_blp

    api = make_api(app)
    api.register_blueprint(quick_blp)
    api.register_blueprint(reports_blp)
    api.register_blueprint(schedules_blp)
