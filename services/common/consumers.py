"""Consuming domain events idempotently.

Delivery is at least once, so every consumer applies an event inside one database
transaction together with a ``processed_events`` row keyed by ``event_id``: a redelivered
event finds the row and is skipped, and a consumer that fails half-way leaves nothing
behind to be skipped later.

A service's consumer is a Celery task named ``<package>.consume_event`` on its queue,
sent the event types its entry in :mod:`services.common.registry` lists::

    @consumer_task("activity_log.consume_event")
    def consume_event(self, envelope):
        return apply_once(parse_envelope(envelope), record_activity)

Comment and attachment trust project-task's "yes" on a task for
``TASK_ACCESS_CACHE_SECONDS`` (:mod:`services.common.task_access`), so a comment or file
accepted just after its task or project was deleted can land after the consumer removed
the rest. Their consumers therefore :func:`sweep_later`: the same removal runs once more
(:func:`apply_again`) when every answer cached before the deletion has expired.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import marshmallow as ma
from flask import current_app
from sqlalchemy.exc import IntegrityError

from services.common.contracts import EnvelopeSchema
from services.common.retry import retried_task

log = logging.getLogger(__name__)

# The events after which what was written on a cached access answer is swept up again.
DELETION_TYPES = ("task.deleted", "project.deleted")
# How long after the last cached access answer expired the follow-up sweep runs.
SWEEP_MARGIN_SECONDS = 10.0


class InvalidEnvelope(ValueError):
    """The message is not an event envelope this consumer understands; retrying cannot help."""


_schema = EnvelopeSchema()


def parse_envelope(envelope: Any, schema: ma.Schema = _schema) -> dict[str, Any]:
    """The event loaded with the envelope contract, ``event_id`` as a string;
    :class:`InvalidEnvelope` if it is not one. A consumer that hands the envelope on as
    it came passes a ``schema`` derived from :class:`EnvelopeSchema`."""
    try:
        event = schema.load(envelope)
    except ma.ValidationError as exc:
        raise InvalidEnvelope(f"not an event envelope: {exc.messages}") from exc
    event["event_id"] = str(event["event_id"])
    return event


def apply_once(envelope: dict[str, Any], handler: Callable[[dict[str, Any]], None]) -> bool:
    """Run ``handler(envelope)`` unless this event was applied before; True if it ran.

    The handler adds its changes to the session without committing; they commit
    together with the processed-event marker.
    """
    db, model = current_app.extensions["processed_events"]
    if db.session.get(model, envelope["event_id"]) is not None:
        return False
    try:
        handler(envelope)
        db.session.add(model(event_id=envelope["event_id"], type=envelope["type"]))
        db.session.commit()
    except IntegrityError:
        # The same event applied concurrently by another worker: theirs stands.
        db.session.rollback()
        if db.session.get(model, envelope["event_id"]) is not None:
            return False
        raise
    except Exception:
        db.session.rollback()
        raise
    return True


def consumer_task(
    name: str,
    *,
    retry_for: tuple[type[BaseException], ...] = (Exception,),
    max_retries: int = 8,
) -> Callable:
    """``@consumer_task("<service>.<job>")``: a Celery task taking an event envelope,
    retried with the common backoff (:mod:`services.common.retry`) on ``retry_for``
    errors, never on an envelope no retry can fix."""
    return retried_task(
        name,
        retry_for=retry_for,
        dont_retry_for=(InvalidEnvelope,),
        max_retries=max_retries,
    )


def apply_again(envelope: dict[str, Any], handler: Callable[[dict[str, Any]], None]) -> None:
    """Run ``handler(envelope)`` and commit, applied before or not: for a follow-up sweep,
    whose handler is idempotent."""
    db, _ = current_app.extensions["processed_events"]
    try:
        handler(envelope)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise


def sweep_later(envelope: dict[str, Any], task_name: str) -> None:
    """Send a deletion event to ``task_name`` (a job that calls :func:`apply_again`) once
    more, ``TASK_ACCESS_CACHE_SECONDS`` plus a margin from now; other events are ignored.

    Consumers call it on every delivery, redeliveries included: a sweep whose publishing
    failed is then sent by the retry, and an extra sweep does no harm."""
    if envelope["type"] not in DELETION_TYPES:
        return
    countdown = current_app.config["TASK_ACCESS_CACHE_SECONDS"] + SWEEP_MARGIN_SECONDS
    current_app.extensions["celery"].send_task(task_name, args=[envelope], countdown=countdown)
    log.info("%s %s swept again in %.0f s", envelope["type"], envelope["entity"]["id"], countdown)


def init_app(app: Any, db: Any, model: type) -> None:
    """Tell :func:`apply_once` where this service records processed events."""
    app.extensions["processed_events"] = (db, model)
