"""The seven services and the platform's wiring, in one place: each service's port, its
Celery queue, the event types its consumer is sent, and the periodic jobs beat sends it.

Everything else reads this table: the outbox relay routes events by ``consumes``
(:mod:`services.common.outbox`), beat builds its schedule from ``periodic``
(:mod:`services.common.beat`), a service's worker takes its queue and task prefix from
here (:func:`services.common.celery_app.init_worker`), and so do ``scripts/stack.py``
and the aggregate health. Adding a consumer, a periodic job or a service is an edit of
:data:`SERVICES`, plus the job itself in the service's ``jobs.py``.

Beside the services runs one more kind of web process: the notification service's live
stream (:data:`STREAM`), the same package served by gevent workers on a port of its own.

nginx reaches the services through ``nginx/upstreams.conf``; services reach each other
through ``<NAME>_SERVICE_URL`` (default ``http://127.0.0.1:<port>``), resolved here by
:func:`service_url` and nowhere else. A test checks the two agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.common.config import env

# ``consumes`` entry for a consumer that is sent every event.
ALL_EVENTS = "*"


@dataclass(frozen=True)
class Periodic:
    """A job beat sends to its service's queue: every ``every`` seconds, or at ``cron``
    (UTC, ``"minute hour day-of-month month day-of-week"``)."""

    name: str
    job: str
    every: float | None = None
    cron: str | None = None


@dataclass(frozen=True)
class ServiceInfo:
    name: str
    port: int
    # The Celery queue of the service's worker; None for a service without one.
    queue: str | None = None
    # Event types sent to its ``<package>.consume_event`` job (ALL_EVENTS for every one).
    consumes: tuple[str, ...] = ()
    periodic: tuple[Periodic, ...] = ()

    def __post_init__(self) -> None:
        if (self.consumes or self.periodic) and self.queue is None:
            raise ValueError(f"{self.name}: consumers and periodic jobs need a queue")

    @property
    def env_prefix(self) -> str:
        return self.name.upper().replace("-", "_")

    @property
    def package(self) -> str:
        return self.name.replace("-", "_")

    @property
    def url_setting(self) -> str:
        """The setting holding this service's base URL: ``<NAME>_SERVICE_URL``."""
        return f"{self.env_prefix}_SERVICE_URL"

    @property
    def task_prefix(self) -> str:
        """Every job of the service is named ``<task_prefix>.<job>``."""
        return self.package

    @property
    def consumer_task(self) -> str:
        """The job events of the types in ``consumes`` are sent to."""
        return f"{self.task_prefix}.consume_event"

    def task(self, job: str) -> str:
        """The full name of one of the service's jobs."""
        return f"{self.task_prefix}.{job}"

    def subscribes_to(self, event_type: str) -> bool:
        return ALL_EVENTS in self.consumes or event_type in self.consumes

    def url(self) -> str:
        """Base URL of this service as seen from another process."""
        return env(self.url_setting, f"http://127.0.0.1:{self.port}").rstrip("/")


# Deletions that the services holding rows of a task or project clean up after.
_DELETIONS = ("task.deleted", "project.deleted")

SERVICES: dict[str, ServiceInfo] = {
    info.name: info
    for info in (
        ServiceInfo("user", 5001),
        ServiceInfo(
            "project-task",
            5002,
            queue="project-task",
            # Commenters and the mentioned watch the task.
            consumes=("comment.created", "comment.mentioned"),
        ),
        ServiceInfo("comment", 5003, queue="comment", consumes=_DELETIONS),
        ServiceInfo(
            "attachment",
            5004,
            queue="attachment",
            consumes=_DELETIONS,
            periodic=(
                Periodic("attachment-orphan-files", "sweep_orphan_files", cron="45 * * * *"),
            ),
        ),
        ServiceInfo(
            "notification",
            5005,
            queue="notification",
            consumes=(
                "task.assigned",
                "task.status_changed",
                # Webhooks only (no in-app notice): relations between tasks.
                "task.relation_added",
                "task.relation_removed",
                # Webhooks only: board moves (a change of column is also status_changed)
                # and who watches a task.
                "task.moved",
                "task.watched",
                "task.unwatched",
                "comment.created",
                "comment.mentioned",
                "comment.replied",
                # Webhooks only (no in-app notice): reactions on comments.
                "comment.reaction_added",
                "comment.reaction_removed",
                "report.completed",
                "report.failed",
                "user.password_reset_requested",
                "user.email_changed",
                # For webhooks only (time tracking and billing integrations): no notices.
                "time_entry.created",
                "time_entry.updated",
                "time_entry.deleted",
            ),
            periodic=(
                Periodic("notification-redispatch", "redispatch_pending", every=300.0),
                Periodic("notification-due-soon", "send_due_soon_reminders", cron="0 * * * *"),
                Periodic(
                    "notification-token-expiry", "send_token_expiry_warnings", cron="30 * * * *"
                ),
            ),
        ),
        ServiceInfo(
            "activity-log",
            5006,
            queue="activity",
            consumes=(ALL_EVENTS,),
            periodic=(Periodic("activity-retention", "apply_retention", cron="15 3 * * *"),),
        ),
        ServiceInfo(
            "reporting",
            5007,
            queue="reporting",
            periodic=(
                Periodic("reporting-expire", "expire_reports", cron="0 4 * * *"),
                Periodic("reporting-schedules", "run_schedules", cron="*/5 * * * *"),
                Periodic("reporting-requeue-stale", "requeue_stale", every=60.0),
            ),
        ),
    )
}


# The live stream's process (services/notification/stream): the notification service's
# code under gevent workers, its own port, reached at NOTIFICATION_STREAM_SERVICE_URL.
STREAM = ServiceInfo("notification-stream", 5008)


def service_url(name: str, settings: Mapping[str, Any] | None = None) -> str:
    """Base URL of service ``name``: the app's own ``<NAME>_SERVICE_URL`` setting when it
    has one (tests point an app at a stand-in that way), else :meth:`ServiceInfo.url`."""
    info = SERVICES[name]
    configured = settings.get(info.url_setting) if settings is not None else None
    return configured.rstrip("/") if configured else info.url()


def consumers_of(event_type: str) -> list[ServiceInfo]:
    """The services whose consumer is sent events of this type."""
    return [info for info in SERVICES.values() if info.subscribes_to(event_type)]


def workers() -> list[ServiceInfo]:
    """The services that run a Celery worker (they have a queue)."""
    return [info for info in SERVICES.values() if info.queue is not None]
