"""Schemas for report schedules."""

from typing import Any

import marshmallow as ma
from marshmallow import validate

from services.common.pagination import PageArgsSchema, page_schema
from services.reporting.models import FORMATS, FREQUENCIES, REPORT_TYPES
from services.reporting.reports.schemas import PARAMS


class ScheduleCreateSchema(ma.Schema):
    """A report made daily, or weekly on ``weekday`` (0 = Monday), at ``hour`` UTC and
    e-mailed to you."""

    type = ma.fields.String(required=True, validate=validate.OneOf(REPORT_TYPES))
    params = ma.fields.Dict(
        keys=ma.fields.String(), load_default=dict, metadata={"description": PARAMS}
    )
    format = ma.fields.String(load_default="pdf", validate=validate.OneOf(FORMATS))
    frequency = ma.fields.String(required=True, validate=validate.OneOf(FREQUENCIES))
    weekday = ma.fields.Integer(
        strict=True,
        allow_none=True,
        load_default=None,
        validate=validate.Range(min=0, max=6),
        metadata={"description": "0 = Monday; required for weekly, not allowed for daily"},
    )
    hour = ma.fields.Integer(
        strict=True,
        load_default=6,
        validate=validate.Range(min=0, max=23),
        metadata={"description": "UTC"},
    )

    @ma.validates_schema
    def _weekday_fits_frequency(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("frequency") == "weekly" and data.get("weekday") is None:
            raise ma.ValidationError("Required for a weekly schedule.", "weekday")
        if data.get("frequency") == "daily" and data.get("weekday") is not None:
            raise ma.ValidationError("Only for a weekly schedule.", "weekday")


class ScheduleSchema(ma.Schema):
    """A report schedule."""

    id = ma.fields.Integer()
    owner_id = ma.fields.Integer()
    type = ma.fields.String(metadata={"enum": list(REPORT_TYPES)})
    params = ma.fields.Dict()
    format = ma.fields.String(metadata={"enum": list(FORMATS)})
    frequency = ma.fields.String(metadata={"enum": list(FREQUENCIES)})
    weekday = ma.fields.Integer(allow_none=True)
    hour = ma.fields.Integer()
    next_run_at = ma.fields.DateTime()
    last_run_at = ma.fields.DateTime(allow_none=True)
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class ScheduleListArgsSchema(PageArgsSchema):
    all = ma.fields.Boolean(load_default=False, metadata={"description": "Everyone's (admins)"})


SchedulePageSchema = page_schema(ScheduleSchema, "ReportSchedulePage")
