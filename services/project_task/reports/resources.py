"""``/internal/reports/*``: the figures of each report, for the reporting service only."""

from __future__ import annotations

import marshmallow as ma
from flask import Blueprint, request

from services.common.db import utcnow
from services.common.errors import abort, flatten_messages
from services.common.http import require_service_token
from services.common.report_contract import (
    DashboardSchema,
    OverdueSchema,
    ProjectSummarySchema,
    SystemSchema,
    TimesheetQuerySchema,
    TimesheetSchema,
    WorkloadSchema,
)
from services.project_task.extensions import db
from services.project_task.models import Project
from services.project_task.reports import queries
from services.project_task.reports.timesheet import timesheet as timesheet_of

blueprint = Blueprint("internal_reports", __name__, url_prefix="/internal/reports")


def _int_argument(name: str, *, required: bool = False) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        if required:
            abort(422, f"Give {name}.", errors={name: ["Missing data for required field."]})
        return None
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        abort(422, f"{name} must be a positive integer.", errors={name: ["A positive integer."]})
    return value


@blueprint.get("/dashboard")
@require_service_token
def dashboard():
    """The quick dashboard of ``user_id``: their projects, task figures and open tasks."""
    user_id = _int_argument("user_id", required=True)
    return DashboardSchema().dump(queries.dashboard(user_id, utcnow().date()))


@blueprint.get("/project-summary/<int:project_id>")
@require_service_token
def project_summary(project_id: int):
    """One project's figures by status, priority and assignee, and its last eight weeks."""
    project = db.session.get(Project, project_id)
    if project is None:
        abort(404, "No such project.")
    return ProjectSummarySchema().dump(queries.project_summary(project, utcnow().date()))


@blueprint.get("/user-workload")
@require_service_token
def user_workload():
    """Tasks per assignee: of ``user_id`` (or ``all``), optionally in one ``project_id``
    or in the projects of one ``workspace_id``, optionally only in the projects
    ``viewer_id`` can see."""
    raw_user = request.args.get("user_id", "")
    user_id = None if raw_user == "all" else _int_argument("user_id", required=True)
    figures = queries.user_workload(
        user_id,
        _int_argument("project_id"),
        utcnow().date(),
        workspace_id=_int_argument("workspace_id"),
        viewer_id=_int_argument("viewer_id"),
    )
    return WorkloadSchema().dump(figures)


@blueprint.get("/overdue")
@require_service_token
def overdue_tasks():
    """Overdue tasks, most overdue first: in ``project_id``, in the projects of
    ``workspace_id``, in the projects ``user_id`` can see, or everywhere; optionally only
    those of ``assignee_id``."""
    figures = queries.overdue_tasks(
        _int_argument("user_id"),
        _int_argument("project_id"),
        _int_argument("assignee_id"),
        utcnow().date(),
        workspace_id=_int_argument("workspace_id"),
    )
    return OverdueSchema().dump(figures)


@blueprint.get("/system")
@require_service_token
def system():
    """Platform-wide counts for global admins: projects, members and tasks."""
    return SystemSchema().dump(queries.system(utcnow().date()))


@blueprint.get("/timesheet")
@require_service_token
def timesheet():
    """Time entries summed: of ``project_id``, of ``user_id``, or of the user within the
    project, from ``since`` to ``until`` (both included), grouped by ``group_by``."""
    try:
        query = TimesheetQuerySchema().load(request.args.to_dict())
    except ma.ValidationError as exc:
        abort(
            422,
            "The timesheet's parameters did not validate.",
            errors=flatten_messages(exc.messages),
        )
    return TimesheetSchema().dump(timesheet_of(**query))
