"""Notification service: in-app notifications, e-mail, templates, preferences and
webhooks (docs/services.md)."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from services.common import auth, idempotency, init_service, make_api, ratelimit
from services.common.celery_app import init_worker
from services.common.config import REPO_ROOT
from services.notification import stream
from services.notification.config import Config
from services.notification.extensions import db, limiter, mail, migrate

MIGRATIONS = Path(REPO_ROOT, "migrations", "notification")


def create_app(config: object | None = None) -> Flask:
    """Build the notification service (its API and, in the worker, its jobs)."""
    app = Flask(__name__)
    app.config.from_object(config or Config())
    init_service(app)
    register_extensions(app)
    register_jobs(app)
    register_blueprints(app)
    return app


def register_extensions(app: Flask) -> None:
    from services.notification import audience, models

    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS))
    ratelimit.init_app(app, limiter)
    # No verifier given: tokens are checked against the user service's /internal/auth/verify.
    auth.init_app(app)
    idempotency.init_app(app, db, models.IdempotencyRecord)
    mail.init_app(app)
    audience.init_app(app)
    stream.init_app(app)


def register_jobs(app: Flask) -> None:
    from services.notification import jobs, models  # noqa: F401 (registers the jobs)

    init_worker(
        app,
        db,
        "notification",
        failed_jobs=models.FailedJob,
        processed_events=models.ProcessedEvent,
    )


def register_blueprints(app: Flask) -> None:
    from services.notification.notification_templates.resources import blp as templates_blp
    from services.notification.notifications.resources import blp as notifications_blp
    from services.notification.stream.resources import blp as stream_blp
    from services.notification.webhooks.resources import blp as webhooks_blp

    api = make_api(app)
    api.register_blueprint(notifications_blp)
    api.register_blueprint(templates_blp)
    api.register_blueprint(webhooks_blp)
    # Served by the stream process (nginx routes /api/stream* there); documented here.
    api.register_blueprint(stream_blp)
