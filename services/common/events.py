"""Domain events through a transactional outbox.

:func:`record_event` adds the event row to the current database session, so it commits
or rolls back together with the change it describes. The relay in
:mod:`services.common.outbox` publishes committed rows; rows left behind are swept up
later, so an event is never lost and never published for a rolled-back change.

An event recorded while serving a request also carries ``meta``: ``{ip, user_agent}``
of the caller as the gateway saw them (``request.remote_addr`` after ``ProxyFix``, the
one address the trusted proxy vouches for; never a raw header). It is personal data for
the audit trail: the activity log stores it, and nothing that hands an envelope on
(webhooks, streams) may: they send :func:`public_envelope`.
"""

from __future__ import annotations

import ipaddress
import uuid
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, has_request_context, request
from flask_sqlalchemy import SQLAlchemy

from services.common import outbox
from services.common.celery_app import celery_init_app
from services.common.contracts import EnvelopeSchema
from services.common.db import utcnow
from services.common.logs import current_request_id

_envelope_schema = EnvelopeSchema()
# Envelope fields for the audit trail only, dropped by :func:`public_envelope`.
PRIVATE_FIELDS = ("meta",)
MAX_USER_AGENT = 512
MAX_IP = 45  # the longest textual IPv6 address (IPv4-mapped)


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
    """The event envelope of docs/events.md, dumped with its contract."""
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


def client_of_request() -> dict[str, str | None] | None:
    """The caller's address and user agent as the gateway saw them; None outside a request."""
    if not has_request_context():
        return None
    user_agent = request.headers.get("User-Agent") or None
    return {
        "ip": ip_or_none(request.remote_addr),
        "user_agent": user_agent[:MAX_USER_AGENT] if user_agent else None,
    }


def ip_or_none(value: Any) -> str | None:
    """``value`` as a normalised IP address, or None when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        address = str(ipaddress.ip_address(value))
    except ValueError:
        return None
    return address if len(address) <= MAX_IP else None


def public_envelope(envelope: dict[str, Any]) -> dict[str, Any]:
    """The envelope without its audit-only fields: what may leave the platform."""
    return {key: value for key, value in envelope.items() if key not in PRIVATE_FIELDS}


def record_event(event_type: str, **kwargs: Any) -> dict[str, Any]:
    """Add an event to the current transaction's outbox and return its envelope (with
    the request's ``meta``: who-from)."""
    outbox: Outbox = current_app.extensions["outbox"]
    envelope = {**build_envelope(event_type, **kwargs), "meta": client_of_request()}
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
