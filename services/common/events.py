"""Domain events through a transactional outbox.

:func:`record_event` adds the event row to the current database session, so it commits
or rolls back together with the change it describes. The relay in
:mod:`services.common.outbox` publishes committed rows; rows left behind are swept up
later, so an event is never lost and never published for a rolled-back change.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app
from flask_sqlalchemy import SQLAlchemy

from services.common import outbox
from services.common.celery_app import celery_init_app
from services.common.contracts import EnvelopeSchema
from services.common.db import utcnow
from services.common.logs import current_request_id

_envelope_schema = EnvelopeSchema()


@dataclass(frozen=True)
class Outbox:
    """The database and outbox model one service writes its events to."""

    db: SQLAlchemy
    model: type


def _actor(actor: Any) -> dict[str, Any] | None:
    if actor is None:
        return None
    if isinstance(actor, dict):
        return {"id": actor.get("id"), "username": actor.get("username")}
    return {"id": actor.id, "username": actor.username}


def build_envelope(
    event_type: str,
    *,
    actor: Any,
    entity: tuple[str, int | str],
    project_id: int | None = None,
    data: dict[str, Any] | None = None,
    changes: dict[str, list[Any]] | None = None,
) -> dict[str, Any]:
    """The event envelope of SPEC §6, dumped with its contract."""
    entity_type, entity_id = entity
    return _envelope_schema.dump(
        {
            "event_id": uuid.uuid4(),
            "type": event_type,
            "occurred_at": utcnow(),
            "actor": _actor(actor),
            "project_id": project_id,
            "entity": {"type": entity_type, "id": entity_id},
            "data": data or {},
            "changes": changes or {},
            "request_id": current_request_id(),
        }
    )


def record_event(event_type: str, **kwargs: Any) -> dict[str, Any]:
    """Add an event to the current transaction's outbox and return its envelope."""
    outbox: Outbox = current_app.extensions["outbox"]
    envelope = build_envelope(event_type, **kwargs)
    outbox.db.session.add(
        outbox.model(event_id=envelope["event_id"], type=event_type, payload=envelope)
    )
    return envelope


def init_app(app: Flask, db: SQLAlchemy, model: type) -> None:
    """Write this service's events to its outbox and relay them through Celery."""
    app.extensions["outbox"] = Outbox(db, model)
    if "celery" not in app.extensions:
        celery_init_app(app)
    outbox.init_app(app, db, model)
