"""Schemas for the activity feed, its filters, stats and export."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

import marshmallow as ma
from marshmallow import validate

from services.common.report_contract import ActivityCountsSchema

MAX_LIMIT = 200
DEFAULT_LIMIT = 50
MAX_STATS_DAYS = 365


class ActivitySchema(ma.Schema):
    """One entry of the audit trail."""

    id = ma.fields.Integer()
    event_id = ma.fields.String()
    action = ma.fields.String(metadata={"description": "The event type, e.g. task.created"})
    actor_id = ma.fields.Integer(allow_none=True)
    actor_username = ma.fields.String(allow_none=True)
    entity_type = ma.fields.String()
    entity_id = ma.fields.Integer(allow_none=True)
    project_id = ma.fields.Integer(allow_none=True)
    changes = ma.fields.Dict(metadata={"description": "{field: [old, new]}"})
    data = ma.fields.Dict(metadata={"description": "Event details; secrets are redacted"})
    request_id = ma.fields.String(allow_none=True)
    ip = ma.fields.String(
        allow_none=True,
        metadata={"description": "The client's address; shown to admins and to the actor"},
    )
    user_agent = ma.fields.String(
        allow_none=True,
        metadata={"description": "The client's User-Agent; shown to admins and to the actor"},
    )
    occurred_at = ma.fields.DateTime()
    created_at = ma.fields.DateTime()


class Cursor(ma.fields.Field):
    """An opaque position in the feed: the (occurred_at, id) of the last entry seen."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {"type": "string", **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        occurred_at, entry_id = value
        raw = json.dumps([occurred_at.isoformat(), entry_id], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    def _deserialize(
        self, value: Any, attr: str | None, data: Any, **kwargs: Any
    ) -> tuple[datetime, int]:
        try:
            padded = str(value) + "=" * (-len(str(value)) % 4)
            stamp, entry_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
            occurred_at = datetime.fromisoformat(stamp)
            if occurred_at.tzinfo is None or not isinstance(entry_id, int):
                raise ValueError("incomplete cursor")
        except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
            raise ma.ValidationError("Not a valid cursor; use next_cursor as given.") from exc
        return occurred_at, entry_id


class ActivityFilterSchema(ma.Schema):
    """Filters the feed and the export share; times need a UTC offset."""

    project_id = ma.fields.Integer(validate=validate.Range(min=1))
    entity_type = ma.fields.String(validate=validate.Length(min=1, max=32))
    entity_id = ma.fields.Integer(validate=validate.Range(min=1))
    actor_id = ma.fields.Integer(validate=validate.Range(min=1))
    action = ma.fields.String(validate=validate.Length(min=1, max=64))
    since = ma.fields.AwareDateTime(metadata={"description": "Entries at or after this time"})
    until = ma.fields.AwareDateTime(metadata={"description": "Entries before this time"})

    @ma.validates_schema
    def _ordered_range(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "since" in data and "until" in data and data["until"] <= data["since"]:
            raise ma.ValidationError("Must be after since.", "until")


class ActivityListArgsSchema(ActivityFilterSchema):
    cursor = Cursor(metadata={"description": "next_cursor of the previous page"})
    limit = ma.fields.Integer(
        load_default=DEFAULT_LIMIT, validate=validate.Range(min=1, max=MAX_LIMIT)
    )


class ActivityPageSchema(ma.Schema):
    """A page of the feed, newest first; ``next_cursor`` is null on the last page."""

    items = ma.fields.List(ma.fields.Nested(ActivitySchema), required=True)
    next_cursor = Cursor(allow_none=True, required=True)


class ActivityExportArgsSchema(ActivityFilterSchema):
    format = ma.fields.String(load_default="csv", validate=validate.OneOf(["csv"]))


class StatsArgsSchema(ma.Schema):
    days = ma.fields.Integer(load_default=7, validate=validate.Range(min=1, max=MAX_STATS_DAYS))


class StatsSchema(ActivityCountsSchema):
    """Counts over the last ``days`` UTC days (today included), summaries included."""
