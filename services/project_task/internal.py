"""Endpoints for other services only (``X-Service-Token``; nginx never routes them).

The comment and attachment services ask who may do what on a task; the notification
service asks who watches a task; the comment service
resolves @mentions against a project's members; the activity-log and notification
services ask which projects a user can see; the reporting service asks for a user's
role in a project or workspace; the notification service asks which tasks are due soon.

Every role here is the *effective* one of ``access.py`` (a workspace admin is an admin of
the workspace's projects, a workspace member a viewer of its workspace-visible ones), so
the other services apply the same rule as the API. ``user_id`` is taken literally: a
global admin who is no member has no role here.
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
    WatcherListSchema,
    WorkspaceAccessSchema,
)
from services.common.db import utcnow
from services.common.errors import abort
from services.common.http import require_service_token
from services.project_task.access import (
    ROLE,
    audience_ids,
    project_audience,
    project_role,
    task_role,
    visible_project_ids,
    with_role,
    workspace_role,
)
from services.project_task.extensions import db
from services.project_task.models import (
    Project,
    Task,
    TaskWatcher,
)

blueprint = Blueprint("internal", __name__, url_prefix="/internal")


def _user_id_argument() -> int:
    user_id = request.args.get("user_id", type=int)
    if user_id is None or user_id < 1:
        abort(422, "Give the user_id to check.", errors={"user_id": ["A positive integer."]})
    return user_id


@blueprint.get("/tasks/<int:task_id>/access")
@require_service_token
def task_access(task_id: int):
    """The project of a task, ``user_id``'s effective role in it and who the task
    concerns (for notifications); 404 if the task is missing or the user cannot see it."""
    task, role = task_role(task_id, _user_id_argument())
    if task is None or role is None:
        abort(404, "No such task, or the user cannot see it.")
    return TaskAccessSchema().dump({"project_id": task.project_id, "role": role, "task": task})


@blueprint.get("/tasks/<int:task_id>/watchers")
@require_service_token
def task_watchers(task_id: int):
    """The users watching a task who can still see its project (for notifications);
    404 if the task is missing."""
    project_id = db.session.scalar(select(Task.project_id).where(Task.id == task_id))
    if project_id is None:
        abort(404, "No such task.")
    rows = db.session.scalars(
        select(TaskWatcher.user_id)
        .where(
            TaskWatcher.task_id == task_id,
            TaskWatcher.user_id.in_(audience_ids(project_id)),
        )
        .order_by(TaskWatcher.user_id)
    )
    return WatcherListSchema().dump({"items": [{"user_id": user_id} for user_id in rows]})


@blueprint.get("/projects/<int:project_id>/access")
@require_service_token
def project_access(project_id: int):
    """``user_id``'s effective role in a project; 404 if it is missing or they cannot see it."""
    _, role = project_role(project_id, _user_id_argument())
    if role is None:
        abort(404, "No such project, or the user cannot see it.")
    return ProjectAccessSchema().dump({"project_id": project_id, "role": role})


@blueprint.get("/workspaces/<int:workspace_id>/access")
@require_service_token
def workspace_access(workspace_id: int):
    """``user_id``'s role in a workspace; 404 if it is missing or they are no member."""
    _, role = workspace_role(workspace_id, _user_id_argument())
    if role is None:
        abort(404, "No such workspace, or the user is no member of it.")
    return WorkspaceAccessSchema().dump({"workspace_id": workspace_id, "role": role})


@blueprint.get("/projects/<int:project_id>/members")
@require_service_token
def project_members(project_id: int):
    """Everyone who can see a project, with their effective role: its members and the
    members of its workspace the access rule lets in (for @mentions and webhooks)."""
    if db.session.get(Project, project_id) is None:
        abort(404, "No such project.")
    audience = project_audience(project_id)
    rows = db.session.execute(audience.order_by(audience.selected_columns.user_id))
    return MemberListSchema().dump({"items": [row._asdict() for row in rows]})


@blueprint.get("/users/<int:user_id>/projects")
@require_service_token
def user_projects(user_id: int):
    """Every project ``user_id`` can see, with their effective role (empty list for none)."""
    query = with_role(
        select(Project.id.label("project_id"), ROLE.label("role")), Project.id, user_id
    )
    rows = db.session.execute(
        query.where(Project.id.in_(visible_project_ids(user_id))).order_by(Project.id)
    )
    return MembershipListSchema().dump({"items": [row._asdict() for row in rows]})


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
