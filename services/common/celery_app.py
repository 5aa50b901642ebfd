"""Celery wiring, once for every service (the Flask docs' ``celery_init_app`` recipe).

Tasks run inside the Flask app context; results are ignored unless asked for; a task
is acknowledged only after it finished (``acks_late``) and given back to the queue if
its worker dies (``task_reject_on_worker_lost``). Every worker beats in Redis
(``worker_heartbeat``) for the health checks. Publishing never waits long: with the
broker down, ``send_task`` fails within about a second and the caller (the outbox
relay) leaves the work for its sweep.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery, Task
from flask import Flask, current_app

from services.common import consumers
from services.common.config import env
from services.common.redaction import redact
from services.common.registry import SERVICES
from services.common.worker_heartbeat import Heartbeat

log = logging.getLogger(__name__)


def celery_settings(broker_url: str) -> dict[str, Any]:
    """The platform's Celery settings (docs/events.md)."""
    transport = {
        # A job whose worker died unacknowledged is redelivered after this long.
        "visibility_timeout": env("CELERY_VISIBILITY_TIMEOUT", 3600, int),
        # Look for such jobs every 10 s (kombu's default scans only every 10th tick,
        # which adds up to 100 s on top of the timeout).
        "unacked_restore_throttle": 1,
        "socket_connect_timeout": 1,
        "socket_timeout": 2,
        "max_retries": 0,
    }
    return {
        "broker_url": broker_url,
        "broker_transport_options": transport,
        "broker_connection_timeout": 1,
        "broker_connection_retry_on_startup": True,
        "task_publish_retry": False,
        "task_ignore_result": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_acks_on_failure_or_timeout": True,
        "worker_prefetch_multiplier": 1,
        "task_time_limit": 300,
        "task_soft_time_limit": 240,
        "task_serializer": "json",
        "accept_content": ["json"],
        "worker_hijack_root_logger": False,
        "timezone": "UTC",
    }


def record_failed_job(task_name: str, task_id: str | None, args: list, exc: BaseException) -> None:
    """Keep a row (when the service has a failed-jobs table) and an error log line."""
    log.error("job %s[%s] gave up: %r", task_name, task_id, exc)
    target = current_app.extensions.get("failed_jobs")
    if target is None:
        return
    db, model = target
    try:
        db.session.rollback()
        db.session.add(
            model(task_name=task_name, task_id=task_id, args=redact(args), error=repr(exc)[:4000])
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("could not record the failed job %s[%s]", task_name, task_id)


def celery_init_app(app: Flask) -> Celery:
    """Create the app's Celery instance, bound to the app context."""

    class FlaskTask(Task):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            with app.app_context():
                return self.run(*args, **kwargs)

        def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
            """A job that gave up (retries exhausted or not retryable) is recorded."""
            with app.app_context():
                record_failed_job(self.name, task_id, list(args), exc)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(
        app.config.get("CELERY") or celery_settings(app.config["REDIS_URL"])
    )
    celery_app.steps["worker"].add(Heartbeat)
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app


def init_worker(
    app: Flask,
    db: Any,
    service: str,
    *,
    failed_jobs: type,
    processed_events: type | None = None,
) -> Celery:
    """Wire a service's background jobs: its Celery app (made here unless the outbox
    already made it), every ``<task_prefix>.*`` job routed to the service's queue (both
    from :mod:`services.common.registry`), the table failed jobs are kept in, and (for
    consumers) the processed-events table."""
    info = SERVICES[service]
    celery_app = app.extensions.get("celery") or celery_init_app(app)
    celery_app.conf.task_routes = {f"{info.task_prefix}.*": {"queue": info.queue}}
    app.extensions["failed_jobs"] = (db, failed_jobs)
    if processed_events is not None:
        consumers.init_app(app, db, processed_events)
    return celery_app
