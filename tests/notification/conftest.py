"""Fixtures for the notification service: the app on a real database and Redis, a real
user service (tokens and contact details over HTTP), a real SMTP server, a real webhook
receiver, a stand-in for project-task's internal endpoints, and helpers that run the
service's jobs in the test process."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from flask_migrate import upgrade
from sqlalchemy import select

from services.common.events import build_envelope
from services.common.redis_store import get_redis
from services.common.registry import SERVICES
from services.common.testing import configure_for_tests, empty_tables
from services.notification import MIGRATIONS, create_app
from services.notification.catalog import DEFAULT_TEMPLATES
from services.notification.config import Config
from services.notification.extensions import db
from services.notification.models import EmailDelivery, NotificationTemplate, WebhookDelivery
from tests.support.servers import (
    ProjectTaskStandIn,
    WebhookReceiver,
    serve,
    start_smtp,
)
from tests.support.worker import celery_worker

QUEUE = SERVICES["notification"].queue

# Settings the in-process app and the worker subprocess share (fast retries for tests).
TEST_SETTINGS = {
    "WEBHOOK_ALLOW_PRIVATE": True,
    "WEBHOOK_RETRY_BASE_SECONDS": 0.2,
    "WEBHOOK_MAX_ATTEMPTS": 5,
    "WEBHOOK_MAX_FAILURES": 2,
    "EMAIL_RETRY_BASE_SECONDS": 0.2,
    "RATELIMIT_USER": "100000/minute",
}
# Settings a test may change that a worker process is handed too.
WORKER_SETTINGS = ("MEMBERSHIP_CACHE_SECONDS",)


@pytest.fixture(scope="session")
def smtp():
    server = start_smtp()
    yield server
    server.close()


@pytest.fixture(scope="session")
def receiver():
    server = serve(WebhookReceiver())
    yield server
    server.close()


@pytest.fixture(scope="session")
def project_task():
    server = serve(ProjectTaskStandIn(os.environ["SERVICE_TOKEN"]))
    yield server
    server.close()


def notification_app(
    backing, name: str, user_url: str, project_task_url: str, smtp, **settings: Any
) -> Any:
    """The notification service on a new database ``name``, migrated, with a real user
    service and SMTP server; ``settings`` over :data:`TEST_SETTINGS`."""
    config = configure_for_tests(
        Config(),
        backing.database_url(name),
        backing.redis_url,
        USER_SERVICE_URL=user_url,
        PROJECT_TASK_SERVICE_URL=project_task_url,
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=smtp.port,
        **{**TEST_SETTINGS, **settings},
    )
    app = create_app(config)
    with app.app_context():
        upgrade(directory=str(MIGRATIONS))
    return app


@contextmanager
def notification_worker(app, log_path: Path, smtp) -> Iterator[Any]:
    """A real notification worker process on ``app``'s database, Redis, services and
    settings, its queue emptied of earlier tests' jobs first."""
    with app.app_context():
        get_redis().delete(QUEUE)
    config = app.config
    settings = {key: str(config[key]).lower() for key in (*TEST_SETTINGS, *WORKER_SETTINGS)}
    with celery_worker(
        "notification",
        app,
        log_path,
        USER_SERVICE_URL=config["USER_SERVICE_URL"],
        PROJECT_TASK_SERVICE_URL=config["PROJECT_TASK_SERVICE_URL"],
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=str(smtp.port),
        **settings,
    ) as process:
        yield process


@pytest.fixture(scope="session")
def _notification_app(backing, user_service, smtp, project_task):
    return notification_app(backing, "notification", user_service.url, project_task.url, smtp)


def _seed_default_templates() -> None:
    """Put the templates back as the migration seeds them."""
    now = datetime.now().astimezone()
    db.session.add_all(
        NotificationTemplate(
            name=t.name,
            subject=t.subject,
            body=t.body,
            channel=t.channel,
            created_at=now,
            updated_at=now,
        )
        for t in DEFAULT_TEMPLATES.values()
    )
    db.session.commit()


@pytest.fixture
def app(_notification_app, smtp, receiver, project_task, people):
    # Project 1, the events' default, has alice, bob and carol as members (a test may
    # script others before its first event).
    project_task.members[1] = [
        {"user_id": person.id, "role": "member"}
        for person in (people.alice, people.bob, people.carol)
    ]
    # No app context is held during the test: each request gets its own, as in production.
    yield _notification_app
    _notification_app.extensions["project_members"].clear()
    with _notification_app.app_context():
        empty_tables(db)
        _seed_default_templates()
        db.session.remove()
        # Jobs handed to the broker by this test and not run by it: not the next test's.
        get_redis().delete(QUEUE)
    smtp.clear()
    receiver.reset()
    project_task.reset()


@pytest.fixture(scope="session")
def people(user_service) -> SimpleNamespace:
    """Accounts made once per run: ``alice``, ``bob``, ``carol`` and ``root`` (an admin)."""
    return SimpleNamespace(
        alice=user_service.account(),
        bob=user_service.account(),
        carol=user_service.account(),
        root=user_service.account(admin=True),
    )


def envelope(
    event_type: str,
    actor: Any,
    *,
    data: dict | None = None,
    changes: dict | None = None,
    project_id: int | None = 1,
    entity: tuple[str, int] = ("task", 1),
) -> dict[str, Any]:
    """A domain event as producers publish it (docs/events.md)."""
    actor_dict = {"id": actor.id, "username": actor.username} if actor else None
    return build_envelope(
        event_type,
        actor=actor_dict,
        entity=entity,
        project_id=project_id,
        data=data,
        changes=changes,
    )


def task_data(task_id: int = 1, **fields) -> dict[str, Any]:
    return {
        "id": task_id,
        "title": fields.pop("title", f"Task {task_id}"),
        "project_id": 1,
        "status": "todo",
        "assignee_id": None,
        "reporter_id": None,
        "due_date": None,
        **fields,
    }


class Jobs:
    """Runs the service's Celery jobs in the test process, as the worker would."""

    def __init__(self, app, project_task=None) -> None:
        self.app = app
        self.celery = app.extensions["celery"]
        self.project_task = project_task

    def run(self, name: str, *args: Any) -> None:
        self.celery.tasks[name].apply(args=list(args), throw=True)

    def consume(self, event: dict[str, Any]) -> None:
        """Consume the event; a task it names that the test gave no watchers is watched by
        its reporter and assignee, as project-task keeps it."""
        data = event.get("data") or {}
        task = data.get("task") if isinstance(data.get("task"), dict) else data
        if self.project_task is not None and isinstance(task.get("id"), int):
            self.project_task.watchers.setdefault(
                task["id"],
                [user for user in (task.get("reporter_id"), task.get("assignee_id")) if user],
            )
        self.run("notification.consume_event", event)

    def _pending(self, model) -> list[int]:
        with self.app.app_context():
            ids = db.session.scalars(
                select(model.id).where(model.status == "pending").order_by(model.id)
            ).all()
            db.session.remove()
        return list(ids)

    def send_emails(self) -> int:
        """Run send_email for every pending e-mail; return how many there were."""
        ids = self._pending(EmailDelivery)
        for delivery_id in ids:
            self.run("notification.send_email", delivery_id)
        return len(ids)

    def deliver_webhooks(self) -> int:
        ids = self._pending(WebhookDelivery)
        for delivery_id in ids:
            self.celery.tasks["notification.deliver_webhook"].apply(args=[delivery_id])
        return len(ids)


@pytest.fixture
def jobs(app, project_task) -> Jobs:
    return Jobs(app, project_task)
