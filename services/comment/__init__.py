"""Comment service: comments on tasks, with @mentions (docs/services.md)."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from services.comment.config import Config
from services.comment.extensions import db, limiter, migrate
from services.common import auth, events, idempotency, init_service, make_api, ratelimit
from services.common.celery_app import init_worker
from services.common.config import REPO_ROOT

MIGRATIONS = Path(REPO_ROOT, "migrations", "comment")


def create_app(config: object | None = None) -> Flask:
    """Build the comment service (its API and, in the worker, its jobs)."""
    app = Flask(__name__)
    app.config.from_object(config or Config())
    init_service(app)
    register_extensions(app)
    register_jobs(app)
    register_blueprints(app)
    return app


def register_extensions(app: Flask) -> None:
    from services.comment import models, profiles
    from services.common import task_access

    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS))
    ratelimit.init_app(app, limiter)
    # No verifier given: tokens are checked against the user service's /internal/auth/verify.
    auth.init_app(app)
    events.init_app(app, db, models.OutboxEvent)
    idempotency.init_app(app, db, models.IdempotencyRecord)
    task_access.init_app(app)
    profiles.init_app(app)


def register_jobs(app: Flask) -> None:
    from services.comment import jobs, models  # noqa: F401 (registers the jobs)

    init_worker(
        app,
        db,
        "comment",
        failed_jobs=models.FailedJob,
        processed_events=models.ProcessedEvent,
    )


def register_blueprints(app: Flask) -> None:
    from services.comment.comments.resources import blp as comments_blp

    api = make_api(app)
    api.register_blueprint(comments_blp)
