"""Consuming domain events idempotently.

Delivery is at least once, so every consumer applies an event inside one database
transaction together with a ``processed_events`` row keyed by ``event_id``: a redelivered
event finds the row and is skipped, and a consumer that fails half-way leaves nothing
behind to be skipped later.

A service's consumer is a Celery task named ``<service>.consume_event`` on its queue
(see ``SUBSCRIPTIONS`` in :mod:`services.common.outbox`)::

    @shared_task(name="activity_log.consume_event", bind=True, max_retries=10)
    def consume_event(self, envelope):
        apply_once(envelope, record_activity)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import current_app
from sqlalchemy.exc import IntegrityError

log = logging.getLogger(__name__)


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


def init_app(app: Any, db: Any, model: type) -> None:
    """Tell :func:`apply_once` where this service records processed events."""
    app.extensions["processed_events"] = (db, model)
