"""Attachment service: files attached to tasks, their versions, share links and the
projects' storage quotas."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from services.attachment.config import Config
from services.attachment.extensions import db, limiter, migrate
from services.common import auth, events, idempotency, init_service, make_api, ratelimit
from services.common.celery_app import init_worker
from services.common.config import REPO_ROOT

MIGRATIONS = Path(REPO_ROOT, "migrations", "attachment")


def create_app(config: object | None = None) -> Flask:
    """Build the attachment service (its API and, in the worker, its jobs)."""
    app = Flask(__name__)
    app.config.from_object(config or Config())
    init_service(app)
    register_extensions(app)
    register_jobs(app)
    register_blueprints(app)
    return app


def register_extensions(app: Flask) -> None:
    from services.attachment import models, storage
    from services.common import task_access

    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS))
    ratelimit.init_app(app, limiter)
    # No verifier given: tokens are checked against the user service's /internal/auth/verify.
    auth.init_app(app)
    events.init_app(app, db, models.OutboxEvent)
    idempotency.init_app(app, db, models.IdempotencyRecord)
    task_access.init_app(app)
    storage.init_app(app)


def register_jobs(app: Flask) -> None:
    from services.attachment import jobs, models  # noqa: F401 (registers the jobs)

    init_worker(
        app,
        db,
        "attachment",
        failed_jobs=models.FailedJob,
        processed_events=models.ProcessedEvent,
    )


def register_blueprints(app: Flask) -> None:
    from services.attachment.attachments.resources import blp as attachments_blp
    from services.attachment.links.resources import blp as links_blp
    from services.attachment.usage.resources import blp as usage_blp
    from services.attachment.versions.resources import blp as versions_blp

    api = make_api(app)
    api.register_blueprint(attachments_blp)
    api.register_blueprint(versions_blp)
    api.register_blueprint(links_blp)
    api.register_blueprint(usage_blp)
