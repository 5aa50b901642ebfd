"""Project-task service: workspaces, projects, their members, tasks and task relations,
board order and watchers, and the time spent on tasks (time entries and timers); its
worker makes commenters and the mentioned watch their tasks."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from services.common import auth, events, idempotency, init_service, make_api, ratelimit
from services.common.celery_app import init_worker
from services.common.config import REPO_ROOT
from services.project_task.config import Config
from services.project_task.extensions import db, limiter, migrate

MIGRATIONS = Path(REPO_ROOT, "migrations", "project_task")


def create_app(config: object | None = None) -> Flask:
    """Build the project-task service."""
    app = Flask(__name__)
    app.config.from_object(config or Config())
    init_service(app)
    register_extensions(app)
    register_jobs(app)
    register_blueprints(app)
    return app


def register_extensions(app: Flask) -> None:
    from services.project_task import models

    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS))
    ratelimit.init_app(app, limiter)
    # No verifier given: tokens are checked against the user service's /internal/auth/verify.
    auth.init_app(app)
    events.init_app(app, db, models.OutboxEvent)
    idempotency.init_app(app, db, models.IdempotencyRecord)


def register_jobs(app: Flask) -> None:
    from services.project_task import jobs, models  # noqa: F401 (registers the jobs)

    init_worker(
        app,
        db,
        "project-task",
        failed_jobs=models.FailedJob,
        processed_events=models.ProcessedEvent,
    )


def register_blueprints(app: Flask) -> None:
    from services.project_task import internal
    from services.project_task.members.resources import blp as members_blp
    from services.project_task.projects.resources import blp as projects_blp
    from services.project_task.relations.resources import blp as relations_blp
    from services.project_task.reports.resources import blueprint as reports_blueprint
    from services.project_task.tasks.resources import blp as tasks_blp
    from services.project_task.time_entries.resources import blp as time_entries_blp
    from services.project_task.timer.resources import blp as timer_blp
    from services.project_task.watchers.resources import blp as watchers_blp
    from services.project_task.workspaces.members import blp as workspace_members_blp
    from services.project_task.workspaces.resources import blp as workspaces_blp

    api = make_api(app)
    api.register_blueprint(workspaces_blp)
    api.register_blueprint(workspace_members_blp)
    api.register_blueprint(projects_blp)
    api.register_blueprint(members_blp)
    api.register_blueprint(tasks_blp)
    api.register_blueprint(relations_blp)
    api.register_blueprint(watchers_blp)
    api.register_blueprint(time_entries_blp)
    api.register_blueprint(timer_blp)
    app.register_blueprint(internal.blueprint)
    app.register_blueprint(reports_blueprint)
