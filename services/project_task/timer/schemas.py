"""Schemas for the timer as the API shows and takes it."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from services.project_task.fields import CalendarDate, SpentOn
from services.project_task.time_entries.schemas import NOTE, TimeEntrySchema


class TimerStartSchema(ma.Schema):
    """The task to time, and what its entry will say."""

    task_id = ma.fields.Integer(
        strict=True, required=True, validate=validate.Range(min=1, max=2**31 - 1)
    )
    spent_on = SpentOn(
        metadata={
            "description": "The day the entry will count on: your local today (YYYY-MM-DD); "
            "by default today in UTC when the timer starts."
        }
    )
    note = ma.fields.String(allow_none=True, load_default=None, validate=NOTE)
    billable = ma.fields.Boolean(load_default=False)


class TimerSchema(ma.Schema):
    """Your running timer."""

    id = ma.fields.Integer()
    user_id = ma.fields.Integer()
    task_id = ma.fields.Integer()
    project_id = ma.fields.Integer()
    spent_on = CalendarDate(metadata={"description": "The day its entry will count on"})
    note = ma.fields.String(allow_none=True)
    billable = ma.fields.Boolean()
    started_at = ma.fields.DateTime()


class StoppedTimerSchema(ma.Schema):
    """A timer that stopped, and the time entry it became (null when nothing could be
    logged: the day was full, or you no longer log time in the task's project)."""

    timer = ma.fields.Nested(TimerSchema)
    stopped_at = ma.fields.DateTime()
    elapsed_seconds = ma.fields.Integer()
    entry = ma.fields.Nested(TimeEntrySchema, allow_none=True)


class TimerStartedSchema(TimerSchema):
    """The timer just started, and the one it stopped (null when none was running)."""

    stopped = ma.fields.Nested(StoppedTimerSchema, allow_none=True)
