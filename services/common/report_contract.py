"""The aggregates project-task computes for reporting (``/internal/reports/*``) and
reporting serves as its quick views: one definition of the contract for the producer,
which dumps its figures with it, and the consumer, which documents and passes them on.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma


class IsoDate(ma.fields.Date):
    """A ``YYYY-MM-DD`` date: dumped from a ``date`` (project-task) or passed through as
    the string it already is (reporting serves the answer as project-task sent it)."""

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
        if isinstance(value, str):
            return value
        return super()._serialize(value, attr, obj, **kwargs)


class CountsField(ma.fields.Dict):
    """``{name: count}``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(keys=ma.fields.String(), values=ma.fields.Integer(), **kwargs)


class DashboardProjectSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    status = ma.fields.String()
    role = ma.fields.String()
    task_count = ma.fields.Integer()
    open = ma.fields.Integer()
    done = ma.fields.Integer()
    overdue = ma.fields.Integer()


class TaskFiguresSchema(ma.Schema):
    total = ma.fields.Integer()
    open = ma.fields.Integer()
    overdue = ma.fields.Integer(metadata={"description": "Open, due before today (UTC)"})
    due_this_week = ma.fields.Integer(
        metadata={"description": "Open, due from today to this ISO week's Sunday"}
    )
    completion_rate = ma.fields.Float(metadata={"description": "done / (all - cancelled)"})
    by_status = CountsField()


class TaskLineSchema(ma.Schema):
    id = ma.fields.Integer()
    title = ma.fields.String()
    project_id = ma.fields.Integer()
    status = ma.fields.String()
    priority = ma.fields.String()
    assignee_id = ma.fields.Integer(allow_none=True)
    due_date = IsoDate(allow_none=True)


class MyTasksSchema(ma.Schema):
    total = ma.fields.Integer()
    overdue = ma.fields.Integer()
    by_priority = CountsField()
    next = ma.fields.List(
        ma.fields.Nested(TaskLineSchema), metadata={"description": "Soonest due first"}
    )


class DashboardSchema(ma.Schema):
    """Your projects, their tasks by status, overdue, due this week, completion rate and
    your open tasks."""

    user_id = ma.fields.Integer()
    today = IsoDate()
    week_end = IsoDate()
    project_count = ma.fields.Integer()
    projects = ma.fields.List(ma.fields.Nested(DashboardProjectSchema))
    tasks = ma.fields.Nested(TaskFiguresSchema)
    my_open_tasks = ma.fields.Nested(MyTasksSchema)


class ProjectBriefSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    status = ma.fields.String()
    priority = ma.fields.String()
    owner_id = ma.fields.Integer()
    start_date = IsoDate(allow_none=True)
    end_date = IsoDate(allow_none=True)


class AssigneeFiguresSchema(ma.Schema):
    assignee_id = ma.fields.Integer(allow_none=True, metadata={"description": "null: unassigned"})
    total = ma.fields.Integer()
    open = ma.fields.Integer()
    done = ma.fields.Integer()
    overdue = ma.fields.Integer()
    by_status = CountsField()
    estimated_hours_open = ma.fields.Float()


class WeekSchema(ma.Schema):
    week_start = IsoDate(metadata={"description": "Monday (UTC) of the ISO week"})
    created = ma.fields.Integer()
    completed = ma.fields.Integer()


class ProjectSummarySchema(ma.Schema):
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
