"""Schemas of the live stream: the query both streams take, the ``Last-Event-ID``
header, a ticket, and the messages a WebSocket client sends."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import validate

from services.common.contracts import EVENT_TYPES
from services.common.query_args import CommaList

MAX_PATTERNS = 50
FAMILIES = frozenset(kind.split(".", 1)[0] for kind in EVENT_TYPES)
STREAM_ID = r"^\d{1,19}-\d{1,19}$"


def pattern_error(pattern: str) -> str | None:
    """Why ``pattern`` is not a type filter (an event type, ``<family>.*`` or ``*``)."""
    if pattern == "*" or pattern in EVENT_TYPES:
        return None
    family, _, rest = pattern.partition(".")
    if rest == "*" and family in FAMILIES:
        return None
    return f"Unknown event type or pattern {pattern!r}."


class TypePatterns(CommaList):
    """``types=task.*,comment.created``: event types, ``<family>.*`` globs, or ``*``
    (a JSON list of them in a WebSocket message)."""

    def __init__(self, **kwargs: Any) -> None:
        description = (
            "Comma list of event types (task.updated), families (task.*) or *; "
            "see docs/events.md for the types."
        )
        super().__init__(max_items=MAX_PATTERNS, metadata={"description": description}, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[str]:
        if isinstance(value, list):
            if not value or len(value) > MAX_PATTERNS or not all(isinstance(v, str) for v in value):
                raise ma.ValidationError(f"Give 1 to {MAX_PATTERNS} event types or patterns.")
            items = list(dict.fromkeys(v.strip() for v in value))
        else:
            items = super()._deserialize(value, attr, data, **kwargs)
        errors = [error for error in map(pattern_error, items) if error]
        if errors:
            raise ma.ValidationError(errors)
        return items


class StreamArgsSchema(ma.Schema):
    """What both streams take in their query string."""

    project_id = ma.fields.Integer(
        validate=validate.Range(min=1, max=2**31 - 1),
        metadata={"description": "Only this project's events (one you are a member of)."},
    )
    types = TypePatterns()
    ticket = ma.fields.String(
        validate=validate.Length(min=1, max=128),
        metadata={
            "description": "A ticket from POST /api/stream/tickets, instead of the "
            "Authorization header (for EventSource and browser WebSockets). Single use."
        },
    )
    last_event_id = ma.fields.String(
        validate=validate.Regexp(STREAM_ID, error="Not a stream position (an event's id)."),
        metadata={
            "description": "Resume after this event id, for clients that cannot send the "
            "Last-Event-ID header (the header wins when both are given)."
        },
    )


class ResumeHeaderSchema(ma.Schema):
    """The ``Last-Event-ID`` header: resume after this event."""

    last_event_id = ma.fields.String(
        data_key="Last-Event-ID",
        validate=validate.Regexp(STREAM_ID, error="Not a stream position (an event's id)."),
    )


class SubscriptionSchema(ma.Schema):
    """A WebSocket subscription: ``{"project_id"?, "types"?}`` (both optional: every
    event you may see)."""

    class Meta:
        unknown = ma.RAISE

    project_id = ma.fields.Integer(strict=True, validate=validate.Range(min=1, max=2**31 - 1))
    types = TypePatterns()


class TicketSchema(ma.Schema):
    """A single-use ticket for ``?ticket=`` on the stream."""

    ticket = ma.fields.String(required=True)
    expires_in = ma.fields.Integer(
        required=True, metadata={"description": "Seconds the ticket stays valid if unused."}
    )
