"""Schemas for time entries as the API shows and takes them, and their list query."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import validate

from services.common.pagination import PageArgsSchema, page_schema
from services.common.query_args import SortField
from services.project_task.fields import CalendarDate, SpentOn

ENTRY_SORT_FIELDS = ("spent_on", "created_at", "minutes")
MINUTES = validate.Range(min=1, max=1440, error="Give 1 to 1440 minutes (24 hours).")
NOTE = validate.Length(max=2000)


class TimeEntrySchema(ma.Schema):
    """Time a user spent on a task on one day."""

    id = ma.fields.Integer()
    task_id = ma.fields.Integer()
    project_id = ma.fields.Integer()
    user_id = ma.fields.Integer(metadata={"description": "Who spent it: the author"})
    spent_on = CalendarDate()
    minutes = ma.fields.Integer()
    note = ma.fields.String(allow_none=True)
    billable = ma.fields.Boolean()
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class TimeEntryCreateSchema(ma.Schema):
    """Time you spent on the task. A user logs at most 1,440 minutes a day across all
    their entries (422 ``daily_limit_exceeded`` beyond)."""

    spent_on = SpentOn(required=True)
    minutes = ma.fields.Integer(strict=True, required=True, validate=MINUTES)
    note = ma.fields.String(allow_none=True, load_default=None, validate=NOTE)
    billable = ma.fields.Boolean(load_default=False)


class TimeEntryUpdateSchema(ma.Schema):
    """PATCH: any of the day, the minutes, the note and whether it is billable."""

    spent_on = SpentOn()
    minutes = ma.fields.Integer(strict=True, validate=MINUTES)
    note = ma.fields.String(allow_none=True, validate=NOTE)
    billable = ma.fields.Boolean()

    @ma.validates_schema
    def _not_empty(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not data:
            raise ma.ValidationError("Give at least one field to change.")


class UserFilter(ma.fields.Field):
    """``user_id``: a user id, or ``me`` (the caller)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(metadata={"type": "string", "description": "A user id, or me"}, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if value == "me":
            return value
        try:
            user_id = int(value)
        except (TypeError, ValueError) as exc:
            raise ma.ValidationError("Give a user id or me.") from exc
        if not 1 <= user_id <= 2**31 - 1:
            raise ma.ValidationError("Give a positive user id.")
        return user_id


class TimeEntryListArgsSchema(PageArgsSchema):
    user_id = UserFilter()
    since = CalendarDate(metadata={"description": "Spent on this day or later"})
    until = CalendarDate(metadata={"description": "Spent on this day or earlier"})
    billable = ma.fields.Boolean()
    sort = SortField(ENTRY_SORT_FIELDS, default="-spent_on")


class AllTimeEntriesArgsSchema(TimeEntryListArgsSchema):
    project_id = ma.fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    task_id = ma.fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    all = ma.fields.Boolean(
        load_default=False, metadata={"description": "Entries of every project (global admins)"}
    )


TimeEntryPageSchema = page_schema(TimeEntrySchema, "TimeEntryPageSchema")
