"""The figures reports are made of: the aggregates project-task computes
(``/internal/reports/*``) and activity-log's summary (``/internal/activities/summary``).
One definition for the producer, which dumps its figures with it, and for reporting,
which loads them with it (see :class:`services.common.contracts.Contract`), serves the
quick views with it and lays the reports out from what it loaded.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import marshmallow as ma

from services.common.contracts import Contract, IsoDate, TaskLineSchema


class CountsField(ma.fields.Dict):
    """``{name: count}``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(keys=ma.fields.String(), values=ma.fields.Integer(), **kwargs)


class DashboardProjectSchema(Contract):
    id = ma.fields.Integer()
    name = ma.fields.String()
    status = ma.fields.String()
    role = ma.fields.String()
    task_count = ma.fields.Integer()
    open = ma.fields.Integer()
    done = ma.fields.Integer()
    overdue = ma.fields.Integer()


class TaskFiguresSchema(Contract):
    total = ma.fields.Integer()
    open = ma.fields.Integer()
    overdue = ma.fields.Integer(metadata={"description": "Open, due before today (UTC)"})
    due_this_week = ma.fields.Integer(
        metadata={"description": "Open, due from today to this ISO week's Sunday"}
    )
    completion_rate = ma.fields.Float(metadata={"description": "done / (all - cancelled)"})
    by_status = CountsField()


class MyTasksSchema(Contract):
    total = ma.fields.Integer()
    overdue = ma.fields.Integer()
    by_priority = CountsField()
    next = ma.fields.List(
        ma.fields.Nested(TaskLineSchema), metadata={"description": "Soonest due first"}
    )


class DashboardSchema(Contract):
    """Your projects, their tasks by status, overdue, due this week, completion rate and
    your open tasks."""

    user_id = ma.fields.Integer()
    today = IsoDate()
    week_end = IsoDate()
    project_count = ma.fields.Integer()
    projects = ma.fields.List(ma.fields.Nested(DashboardProjectSchema))
    tasks = ma.fields.Nested(TaskFiguresSchema)
    my_open_tasks = ma.fields.Nested(MyTasksSchema)


class ProjectBriefSchema(Contract):
    id = ma.fields.Integer()
    name = ma.fields.String()
    status = ma.fields.String()
    priority = ma.fields.String()
    owner_id = ma.fields.Integer()
    start_date = IsoDate(allow_none=True)
    end_date = IsoDate(allow_none=True)


class AssigneeFiguresSchema(Contract):
    assignee_id = ma.fields.Integer(allow_none=True, metadata={"description": "null: unassigned"})
    total = ma.fields.Integer()
    open = ma.fields.Integer()
    done = ma.fields.Integer()
    overdue = ma.fields.Integer()
    by_status = CountsField()
    estimated_hours_open = ma.fields.Float()
    spent_hours = ma.fields.Float(
        metadata={"description": "Hours logged on the tasks (their time entries)"}
    )


class WeekSchema(Contract):
    week_start = IsoDate(metadata={"description": "Monday (UTC) of the ISO week"})
    created = ma.fields.Integer()
    completed = ma.fields.Integer()


class ProjectSummarySchema(Contract):
    """A project's tasks by status, priority and assignee, overdue, completion rate, and
    created vs completed per week for the last eight weeks."""

    project = ma.fields.Nested(ProjectBriefSchema)
    today = IsoDate()
    total = ma.fields.Integer()
    open = ma.fields.Integer()
    overdue = ma.fields.Integer()
    completion_rate = ma.fields.Float()
    estimated_hours = ma.fields.Float()
    actual_hours = ma.fields.Float(metadata={"description": "Hand-typed on the tasks"})
    spent_hours = ma.fields.Float(
        metadata={"description": "Hours logged on the tasks (their time entries)"}
    )
    by_status = CountsField()
    by_priority = CountsField()
    by_assignee = ma.fields.List(ma.fields.Nested(AssigneeFiguresSchema))
    weekly = ma.fields.List(ma.fields.Nested(WeekSchema))


class WorkloadProjectSchema(Contract):
    project_id = ma.fields.Integer()
    assignee_id = ma.fields.Integer(allow_none=True)
    total = ma.fields.Integer()
    open = ma.fields.Integer()
    overdue = ma.fields.Integer()


class WorkloadSchema(Contract):
    """Tasks per assignee, of one user (or everybody), optionally within one project or
    within the projects of one workspace (those ``viewer_id`` can see)."""

    user_id = ma.fields.Integer(allow_none=True)
    project_id = ma.fields.Integer(allow_none=True)
    workspace_id = ma.fields.Integer(allow_none=True, load_default=None)
    today = IsoDate()
    total = ma.fields.Integer()
    open = ma.fields.Integer()
    overdue = ma.fields.Integer()
    spent_hours = ma.fields.Float(
        metadata={"description": "Hours logged on the tasks (their time entries)"}
    )
    assignees = ma.fields.List(ma.fields.Nested(AssigneeFiguresSchema))
    by_project = ma.fields.List(ma.fields.Nested(WorkloadProjectSchema))


class OverdueTaskSchema(TaskLineSchema):
    days_overdue = ma.fields.Integer()


class ProjectCountSchema(Contract):
    project_id = ma.fields.Integer()
    count = ma.fields.Integer()


class OverdueSchema(Contract):
    """Overdue tasks, most overdue first (at most ``OVERDUE_LIMIT``; ``truncated`` says
    when there were more), with their counts by priority and project; of one project,
    of the projects of one workspace, and/or of the projects ``user_id`` can see."""

    user_id = ma.fields.Integer(allow_none=True)
    project_id = ma.fields.Integer(allow_none=True)
    workspace_id = ma.fields.Integer(allow_none=True, load_default=None)
    assignee_id = ma.fields.Integer(allow_none=True)
    today = IsoDate()
    total = ma.fields.Integer()
    truncated = ma.fields.Boolean()
    by_priority = CountsField()
    by_project = ma.fields.List(ma.fields.Nested(ProjectCountSchema))
    tasks = ma.fields.List(ma.fields.Nested(OverdueTaskSchema))


class TimeFiguresSchema(Contract):
    """Time logged (time entries), in hours; the last 7 and 30 days end today (UTC)."""

    entries = ma.fields.Integer()
    hours = ma.fields.Float()
    billable_hours = ma.fields.Float()
    hours_last_7_days = ma.fields.Float()
    hours_last_30_days = ma.fields.Float()
    people = ma.fields.Integer(metadata={"description": "People who logged time"})


class SystemSchema(Contract):
    """Platform-wide counts: projects, members, tasks and time logged."""

    today = IsoDate()
    projects = ma.fields.Integer()
    projects_by_status = CountsField()
    members = ma.fields.Integer()
    tasks = ma.fields.Nested(TaskFiguresSchema)
    tasks_by_priority = CountsField()
    created_last_7_days = ma.fields.Integer()
    created_last_30_days = ma.fields.Integer()
    time = ma.fields.Nested(TimeFiguresSchema)


class ActionCountSchema(Contract):
    action = ma.fields.String()
    count = ma.fields.Integer()


class DayCountSchema(Contract):
    day = IsoDate()
    count = ma.fields.Integer()


class ActivityCountsSchema(Contract):
    """Counts over the last ``days`` UTC days (today included), summaries included."""

    days = ma.fields.Integer()
    since = ma.fields.DateTime()
    total = ma.fields.Integer()
    by_action = ma.fields.List(ma.fields.Nested(ActionCountSchema))
    by_day = ma.fields.List(ma.fields.Nested(DayCountSchema))


class ActivitySummarySchema(ActivityCountsSchema):
    """:class:`ActivityCountsSchema` of one project (``project_id``) or of everything
    (null)."""

    project_id = ma.fields.Integer(allow_none=True)


# The timesheet: time entries summed per day, ISO week, user or task.
TIMESHEET_GROUPS = ("day", "week", "user", "task")
TIMESHEET_MAX_DAYS = 366
TIMESHEET_FIRST_DAY = date(1970, 1, 1)
TIMESHEET_LAST_DAY = date(2999, 12, 31)


def check_period(since: date, until: date) -> None:
    """A timesheet covers ``since`` to ``until``, both included, at most
    ``TIMESHEET_MAX_DAYS`` days between 1970 and 2999 (raises a ValidationError)."""
    if since < TIMESHEET_FIRST_DAY:
        raise ma.ValidationError(f"Must be {TIMESHEET_FIRST_DAY} or later.", "since")
    if until > TIMESHEET_LAST_DAY:
        raise ma.ValidationError(f"Must be {TIMESHEET_LAST_DAY} or earlier.", "until")
    if until < since:
        raise ma.ValidationError("Must not be before since.", "until")
    if (until - since).days + 1 > TIMESHEET_MAX_DAYS:
        raise ma.ValidationError(f"A timesheet covers at most {TIMESHEET_MAX_DAYS} days.", "until")


def _id(**kwargs: Any) -> ma.fields.Integer:
    return ma.fields.Integer(validate=ma.validate.Range(min=1, max=2**31 - 1), **kwargs)


class TimesheetQuerySchema(Contract):
    """``GET project-task /internal/reports/timesheet``: the time of one project, of one
    user, or of one user within one project, from ``since`` to ``until`` (both
    included), its rows grouped by ``group_by``."""

    project_id = _id(allow_none=True, load_default=None)
    user_id = _id(allow_none=True, load_default=None)
    since = IsoDate()
    until = IsoDate()
    group_by = ma.fields.String(validate=ma.validate.OneOf(TIMESHEET_GROUPS))

    @ma.validates_schema
    def _scope_and_period(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("project_id") is None and data.get("user_id") is None:
            raise ma.ValidationError("Give project_id, user_id or both.", "project_id")
        if "since" in data and "until" in data:
            check_period(data["since"], data["until"])


class TimesheetRowSchema(Contract):
    """One group of entries: its key (the ``day``; the ``week_start``, Monday of an ISO
    week; the ``user_id``; or the ``task_id`` with the task's ``title``,
    ``estimated_hours`` and ``spent_minutes`` of all time), then the time in it."""

    day = IsoDate(allow_none=True, load_default=None)
    week_start = IsoDate(allow_none=True, load_default=None)
    user_id = ma.fields.Integer(allow_none=True, load_default=None)
    task_id = ma.fields.Integer(allow_none=True, load_default=None)
    title = ma.fields.String(allow_none=True, load_default=None)
    estimated_hours = ma.fields.Float(allow_none=True, load_default=None)
    spent_minutes = ma.fields.Integer(allow_none=True, load_default=None)
    entries = ma.fields.Integer()
    minutes = ma.fields.Integer()
    billable_minutes = ma.fields.Integer()


class TimesheetPersonSchema(Contract):
    """The minutes one user logged per day (``{"YYYY-MM-DD": minutes}``, days with time
    only): a map rather than a row per day, as it is the largest part of a timesheet."""

    user_id = ma.fields.Integer()
    days = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())


class TimesheetSchema(Contract):
    """Time entries summed: the totals; ``rows`` per ``group_by`` (every day or week of
    the period, even empty ones; the users and tasks with time, most first);
    ``per_user_day`` (each user's minutes per day); and
    ``top_tasks``, the tasks with the most time in the period with their estimates."""

    project_id = ma.fields.Integer(allow_none=True)
    user_id = ma.fields.Integer(allow_none=True)
    since = IsoDate()
    until = IsoDate()
    group_by = ma.fields.String(validate=ma.validate.OneOf(TIMESHEET_GROUPS))
    entries = ma.fields.Integer()
    minutes = ma.fields.Integer()
    billable_minutes = ma.fields.Integer()
    users = ma.fields.Integer(metadata={"description": "People who logged time"})
    tasks = ma.fields.Integer(metadata={"description": "Tasks with time"})
    rows = ma.fields.List(ma.fields.Nested(TimesheetRowSchema))
    per_user_day = ma.fields.List(ma.fields.Nested(TimesheetPersonSchema))
    top_tasks = ma.fields.List(ma.fields.Nested(TimesheetRowSchema))
