"""The outbox relay: committed event rows go to their consumers through Celery.

After a transaction that wrote events commits, their ids are handed to a relay thread
in this process, which publishes each event to the consumers subscribed to its type
(``consumes`` in :mod:`services.common.registry`) and marks the row published. Every
``OUTBOX_SWEEP_SECONDS`` the same thread sweeps up rows still unpublished (the broker
was down, the process died mid-relay), oldest first, in batches; on PostgreSQL rows are
claimed with ``FOR UPDATE SKIP LOCKED`` so replicas do not publish the same rows at once. Delivery is at least once; consumers are idempotent
on ``event_id``.

Publishing an event also appends it to the live-update log in Redis
(:mod:`services.common.live_log`), which the live stream follows: straight from the
relay, so a client sees a change within milliseconds of its commit, without a Celery
hop and without waiting behind the notification worker's e-mails.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from datetime import timedelta
from typing import Any

from flask import Flask, current_app, has_app_context
from flask_sqlalchemy import SQLAlchemy
from prometheus_client import Counter
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from services.common import live_log
from services.common.db import utcnow
from services.common.redaction import redact
from services.common.redis_store import get_redis
from services.common.registry import consumers_of

log = logging.getLogger(__name__)

# Event types whose secrets are scrubbed from the outbox row once published.
SCRUBBED_TYPES = ("user.password_reset_requested",)

PUBLISHED = Counter("outbox_events_published_total", "Events relayed to consumers", ["path"])
FAILURES = Counter("outbox_publish_failures_total", "Failed attempts to relay events")

_PENDING = "outbox_pending_ids"
_BATCH = 500
_GRACE = timedelta(seconds=2)


def routes_for(event_type: str) -> list[tuple[str, str]]:
    """(task name, queue) pairs an event of this type goes to (the registry's ``consumes``)."""
    return [(info.consumer_task, info.queue) for info in consumers_of(event_type)]


class OutboxRelay:
    """Publishes one service's outbox rows; one relay thread per process."""

    def __init__(self, app: Flask, db: SQLAlchemy, model: type, sweep_seconds: float) -> None:
        self.app = app
        self.db = db
        self.model = model
        self.sweep_seconds = sweep_seconds
        self._queue: queue.Queue[list[int]] = queue.Queue()
        self._pid: int | None = None
        self._lock = threading.Lock()

    def notify(self, ids: list[int]) -> None:
        """Hand over the ids of events that were just committed."""
        self.ensure_started()
        self._queue.put(ids)

    def ensure_started(self) -> None:
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid != os.getpid():
                self._pid = os.getpid()
                self._queue = queue.Queue()
                threading.Thread(target=self._run, name="outbox-relay", daemon=True).start()

    def _run(self) -> None:
        next_sweep = time.monotonic() + self.sweep_seconds
        while True:
            timeout = max(0.0, next_sweep - time.monotonic())
            try:
                ids = self._queue.get(timeout=timeout)
            except queue.Empty:
                ids = None
            try:
                with self.app.app_context():
                    if ids:
                        self.relay(ids, path="commit")
                    if time.monotonic() >= next_sweep:
                        self.sweep()
                        next_sweep = time.monotonic() + self.sweep_seconds
            except Exception:
                log.exception("outbox relay failed; the sweep will retry")
                next_sweep = min(next_sweep, time.monotonic() + self.sweep_seconds)

    def relay(self, ids: list[int], path: str = "commit") -> int:
        """Publish the given unpublished rows; return how many went out."""
        query = (
            select(self.model)
            .where(self.model.id.in_(ids), self.model.published_at.is_(None))
            .order_by(self.model.id)
        )
        return self._publish_rows(query, path)

    def sweep(self) -> int:
        """Publish rows left behind, oldest first, in batches."""
        total = 0
        while True:
            query = (
                select(self.model)
                .where(self.model.published_at.is_(None), self.model.created_at < utcnow() - _GRACE)
                .order_by(self.model.id)
                .limit(_BATCH)
            )
            published = self._publish_rows(query, "sweep")
            total += published
            if published < _BATCH:
                return total

    def _scrub_published(self, ids: list[int]) -> None:
        """Once delivered, secrets in an event (a password-reset token) are not kept."""
        for row in self.db.session.scalars(
            select(self.model).where(self.model.id.in_(ids), self.model.type.in_(SCRUBBED_TYPES))
        ):
            row.payload = {**row.payload, "data": redact(row.payload.get("data") or {})}

    def _publish_rows(self, query: Any, path: str) -> int:
        session = self.db.session
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        celery_app = self.app.extensions["celery"]
        config = self.app.config
        log_client = get_redis(config["REDIS_URL"])
        done: list[int] = []
        try:
            for row in session.scalars(query):
                envelope = row.payload
                for task_name, queue_name in routes_for(row.type):
                    celery_app.send_task(
                        task_name,
                        args=[envelope],
                        queue=queue_name,
                        headers={"request_id": envelope.get("request_id")},
                        # Worker logs show this instead of the envelope, which may hold secrets.
                        argsrepr=f"[<{row.type} {row.event_id}>]",
                    )
                live_log.append(
                    log_client,
                    envelope,
                    config["STREAM_REPLAY_EVENTS"],
                    config["STREAM_REPLAY_SECONDS"],
                )
                done.append(row.id)
        except Exception as exc:
            FAILURES.inc()
            log.warning("could not relay outbox events (%s); %d sent before it", exc, len(done))
        if done:
            session.execute(
                update(self.model)
                .where(self.model.id.in_(done))
                .values(published_at=utcnow(), attempts=self.model.attempts + 1)
            )
            self._scrub_published(done)
        session.commit()
        PUBLISHED.labels(path).inc(len(done))
        return len(done)


_hooks_installed = False


def _current_relay() -> OutboxRelay | None:
    return current_app.extensions.get("outbox_relay") if has_app_context() else None


def _install_session_hooks() -> None:
    """Session hooks (installed once per process) that hand committed event ids to the
    relay of the app whose session committed them."""
    global _hooks_installed
    if _hooks_installed:
        return
    _hooks_installed = True

    @event.listens_for(Session, "after_flush")
    def _collect(session: Session, _context: Any) -> None:
        relay = _current_relay()
        if relay is None:
            return
        ids = [obj.id for obj in session.new if isinstance(obj, relay.model)]
        if ids:
            session.info.setdefault(_PENDING, []).extend(ids)

    @event.listens_for(Session, "after_commit")
    def _committed(session: Session) -> None:
        ids = session.info.pop(_PENDING, None)
        relay = _current_relay()
        if ids and relay is not None:
            relay.notify(ids)

    @event.listens_for(Session, "after_rollback")
    def _rolled_back(session: Session) -> None:
        session.info.pop(_PENDING, None)


def init_app(app: Flask, db: SQLAlchemy, model: type) -> OutboxRelay:
    """Relay this service's outbox rows after commit and sweep them periodically."""
    relay = OutboxRelay(app, db, model, app.config.get("OUTBOX_SWEEP_SECONDS", 5.0))
    app.extensions["outbox_relay"] = relay
    _install_session_hooks()
    return relay
