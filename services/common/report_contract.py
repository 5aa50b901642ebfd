"""The figures reports are made of: the aggregates project-task computes
(``/internal/reports/*``) and activity-log's summary (``/internal/activities/summary``).
One definition for the producer, which dumps its figures with it, and for reporting,
which loads them with it (see :class:`services.common.contracts.Contract`), serves the
quick views with it and lays the reports out from what it loaded.
"""

from __future__ import annotations

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
    actual_hours = ma.fields.Float()
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


class SystemSchema(Contract):
    """Platform-wide counts: projects, members and tasks."""

    today = IsoDate()
    projects = ma.fields.Integer()
    projects_by_status = CountsField()
    members = ma.fields.Integer()
    tasks = ma.fields.Nested(TaskFiguresSchema)
    tasks_by_priority = CountsField()
    created_last_7_days = ma.fields.Integer()
    created_last_30_days = ma.fields.Integer()


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
