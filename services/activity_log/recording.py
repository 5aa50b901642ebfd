"""Turning event envelopes (docs/events.md) into activity entries.

Nothing secret is stored: any key in ``data`` or ``changes`` whose name contains
"token", "password" or "secret" (at any depth) has its value replaced by ``[redacted]``,
so the reset token of ``user.password_reset_requested`` never reaches the table.

Who-from comes from the envelope's ``meta`` (``{ip, user_agent}``, set by
``services.common.events.record_event`` from the request that caused the event) and
nowhere else: never from ``data``, which may hold what a client wrote. A ``meta`` that
does not hold an IP address is recorded as unknown rather than dropping the event.
"""

from __future__ import annotations

from typing import Any

from services.activity_log.extensions import db
from services.activity_log.models import Activity
from services.common.events import MAX_USER_AGENT, ip_or_none
from services.common.redaction import REDACTED, is_sensitive, redact


def redact_changes(changes: dict[str, Any]) -> dict[str, Any]:
    """``{field: [old, new]}`` with both values of a sensitive field replaced."""
    return {
        field: [REDACTED, REDACTED] if is_sensitive(field) else redact(pair)
        for field, pair in changes.items()
    }


def _client(event: dict[str, Any]) -> dict[str, Any]:
    """The caller's ip and user agent from the envelope's ``meta`` (None when unknown)."""
    client = event.get("meta") or {}
    user_agent = client.get("user_agent")
    return {
        "ip": ip_or_none(client.get("ip")),
        "user_agent": user_agent[:MAX_USER_AGENT] if user_agent else None,
    }


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
            **_client(event),
        )
    )
