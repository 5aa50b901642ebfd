"""Endpoints for other services only (``X-Service-Token``; nginx never routes them).

The comment and attachment services ask who may do what on a task; the comment service
resolves @mentions against a project's members; the activity-log and notification
services ask which projects a user belongs to; the notification service asks which
tasks are due soon. ``user_id`` is taken literally: a global
admin who is no member of the project has no role in it here.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, request
from sqlalchemy import select

from services.common.contracts import (
    CLOSED_STATUSES,
    DueTaskListSchema,
    MemberListSchema,
    MembershipListSchema,
    ProjectAccessSchema,
    TaskAccessSchema,
)
from services.common.db import utcnow
from services.common.errors import abort
from services.common.http import require_service_token
from services.project_task.access import role_of
from services.project_task.extensions import db
from services.project_task.models import Project, ProjectMember, Task

blueprint = Blueprint("internal", __name__, url_prefix="/internal")


def _user_id_argument() -> int:
    user_id = request.args.get("user_id", type=int)
    if user_id is None or user_id < 1:
        abort(422, "Give the user_id to check.", errors={"user_id": ["A positive integer."]})
    return user_id


@blueprint.get("/tasks/<int:task_id>/access")
@require_service_token
def task_access(task_id: int):
    """The project of a task, ``user_id``'s role in it and who the task concerns (for
    notifications); 404 if the task is missing or the user is no member."""
    user_id = _user_id_argument()
    row = db.session.execute(
        select(Task, ProjectMember.role)
        .join(ProjectMember, ProjectMember.project_id == Task.project_id)
        .where(Task.id == task_id, ProjectMember.user_id == user_id)
    ).first()
    if row is None:
        abort(404, "No such task, or the user is no member of its project.")
    task, role = row
    return TaskAccessSchema().dump({"project_id": task.project_id, "role": role, "task": task})


@blueprint.get("/projects/<int:project_id>/access")
@require_service_token
def project_access(project_id: int):
    """``user_id``'s role in a project; 404 if the project is missing or they are no member."""
    role = role_of(project_id, _user_id_argument())
    if role is None:
        abort(404, "No such project, or the user is no member of it.")
    return ProjectAccessSchema().dump({"project_id": project_id, "role": role})


@blueprint.get("/projects/<int:project_id>/members")
@require_service_token
def project_members(project_id: int):
    """Every member of a project with their role (for @mention resolution)."""
    if db.session.get(Project, project_id) is None:
        abort(404, "No such project.")
    members = select(ProjectMember).where(ProjectMember.project_id == project_id)
    return MemberListSchema().dump(
        {"items": db.session.scalars(members.order_by(ProjectMember.user_id))}
    )


@blueprint.get("/users/<int:user_id>/projects")
@require_service_token
def user_projects(user_id: int):
    """Every project ``user_id`` belongs to, with their role (empty list for none)."""
    memberships = select(ProjectMember).where(ProjectMember.user_id == user_id)
    return MembershipListSchema().dump(
        {"items": db.session.scalars(memberships.order_by(ProjectMember.project_id))}
    )


@blueprint.get("/tasks/due-soon")
@require_service_token
def tasks_due_soon():
    """Open, assigned tasks due between today and ``hours`` from now (default 24, max 168)."""
    hours = request.args.get("hours", default=24, type=int)
    if hours is None or not 1 <= hours <= 168:
        abort(422, "hours must be 1 to 168.", errors={"hours": ["Between 1 and 168."]})
    now = utcnow()
    rows = db.session.execute(
        select(Task.id, Task.title, Task.project_id, Task.assignee_id, Task.due_date)
        .where(
            Task.assignee_id.is_not(None),
            Task.status.not_in(CLOSED_STATUSES),
            Task.due_date >= now.date(),
            Task.due_date <= (now + timedelta(hours=hours)).date(),
        )
        .order_by(Task.due_date, Task.id)
        .limit(5000)
    )
    return DueTaskListSchema().dump({"items": [row._asdict() for row in rows]})
