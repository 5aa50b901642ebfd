"""Turning event envelopes (SPEC §6) into activity entries.

Nothing secret is stored: any key in ``data`` or ``changes`` whose name contains
"token", "password" or "secret" (at any depth) has its value replaced by ``[redacted]``,
so the reset token of ``user.password_reset_requested`` never reaches the table.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from services.activity_log.extensions import db
from services.activity_log.models import Activity
from services.common.contracts import ClientMetaSchema
from services.common.redaction import REDACTED, is_sensitive, redact

_meta_schema = ClientMetaSchema()


def redact_changes(changes: dict[str, Any]) -> dict[str, Any]:
    """``{field: [old, new]}`` with both values of a sensitive field replaced."""
    return {
        field: [REDACTED, REDACTED] if is_sensitive(field) else redact(pair)
        for field, pair in changes.items()
    }


def _client_meta(event: dict[str, Any]) -> dict[str, Any]:
    """The client's ip and user agent, when the producer put them in ``data.meta``."""
    raw = (event["data"] or {}).get("meta") or event.get("meta")
    if not isinstance(raw, dict):
        return {"ip": None, "user_agent": None}
    try:
        meta = _meta_schema.load(raw)
    except ma.ValidationError:
        return {"ip": None, "user_agent": None}
    user_agent = meta["user_agent"]
    return {"ip": meta["ip"], "user_agent": user_agent[:512] if user_agent else None}


def record_activity(event: dict[str, Any]) -> None:
    """Add the entry for a parsed event to the session (the caller commits)."""
    actor = event["actor"] or {}
    db.session.add(
        Activity(
            event_id=event["event_id"],
            action=event["type"],
            actor_id=actor.get("id"),
            actor_username=actor.get("username"),
            entity_type=event["entity"]["type"],
            entity_id=event["entity"]["id"],
            project_id=event["project_id"],
            changes=redact_changes(event["changes"] or {}),
            data=redact(event["data"] or {}),
            request_id=event["request_id"],
            occurred_at=event["occurred_at"],
            **_client_meta(event),
        )
    )
