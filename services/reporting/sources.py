"""Where the reporting data comes from: the other services' internal endpoints, each
answer loaded with its contract (:mod:`services.common.report_contract`,
:mod:`services.common.contracts`).

The figures are aggregate queries the owning service runs on its own tables and serves
under ``/internal`` (one call per report or quick view, never one per row):

- project-task: ``GET /internal/reports/dashboard?user_id=``,
  ``/internal/reports/project-summary/{id}``, ``/internal/reports/user-workload?user_id=
  (N|all)&project_id=&workspace_id=&viewer_id=``, ``/internal/reports/overdue?user_id=
  &project_id=&workspace_id=&assignee_id=``, ``/internal/reports/system``,
  ``/internal/reports/timesheet?project_id=&user_id=&since=&until=&group_by=``; and
  ``GET /internal/projects/{id}/access?user_id=`` and
  ``GET /internal/workspaces/{id}/access?user_id=`` for the access checks;
- activity-log: ``GET /internal/activities/summary?project_id=&days=``;
- user: ``GET /internal/users?ids=`` → the requester's current role when a report runs.

A failure raises :class:`~services.common.errors.ServiceUnavailable` (worth retrying); a
missing project makes :func:`project_summary` answer None.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import current_app

from services.common.contracts import ProjectAccessSchema, UserListSchema, WorkspaceAccessSchema
from services.common.http import call_service
from services.common.report_contract import (
    ActivitySummarySchema,
    DashboardSchema,
    OverdueSchema,
    ProjectSummarySchema,
    SystemSchema,
    TimesheetQuerySchema,
    TimesheetSchema,
    WorkloadSchema,
)


def _figures(
    service: str, path: str, schema: type[ma.Schema], *, missing_ok: bool = False, **params: Any
) -> Any:
    # Aggregates over a big project take longer than an access check.
    timeout = current_app.config["REPORT_SOURCE_TIMEOUT"]
    return call_service(
        service, path, schema(), params=params, timeout=timeout, missing_ok=missing_ok
    )


def _role(path: str, schema: ma.Schema, user_id: int) -> str | None:
    answer = call_service(
        "project-task", path, schema, params={"user_id": user_id}, missing_ok=True
    )
    return None if answer is None else answer["role"]


def project_role(project_id: int, user_id: int) -> str | None:
    """``user_id``'s (effective) role in the project, or None when they cannot see it (or
    it is gone)."""
    return _role(f"/internal/projects/{project_id}/access", ProjectAccessSchema(), user_id)


def workspace_role(workspace_id: int, user_id: int) -> str | None:
    """``user_id``'s role in the workspace, or None when they are no member (or it is gone)."""
    return _role(f"/internal/workspaces/{workspace_id}/access", WorkspaceAccessSchema(), user_id)


def dashboard(user_id: int) -> dict[str, Any]:
    return _figures("project-task", "/internal/reports/dashboard", DashboardSchema, user_id=user_id)


def project_summary(project_id: int) -> dict[str, Any] | None:
    """The project's figures, or None when there is no such project."""
    return _figures(
        "project-task",
        f"/internal/reports/project-summary/{project_id}",
        ProjectSummarySchema,
        missing_ok=True,
    )


def user_workload(
    user_id: int | None,
    project_id: int | None,
    workspace_id: int | None = None,
    viewer_id: int | None = None,
) -> dict[str, Any]:
    """Workload of ``user_id`` (None: everybody), optionally within one project or the
    projects of one workspace (those ``viewer_id`` can see, when given)."""
    return _figures(
        "project-task",
        "/internal/reports/user-workload",
        WorkloadSchema,
        user_id="all" if user_id is None else user_id,
        project_id=project_id,
        workspace_id=workspace_id,
        viewer_id=viewer_id,
    )


def overdue(
    user_id: int | None,
    project_id: int | None,
    assignee_id: int | None,
    workspace_id: int | None = None,
) -> dict[str, Any]:
    return _figures(
        "project-task",
        "/internal/reports/overdue",
        OverdueSchema,
        user_id=user_id,
        project_id=project_id,
        assignee_id=assignee_id,
        workspace_id=workspace_id,
    )


def system() -> dict[str, Any]:
    return _figures("project-task", "/internal/reports/system", SystemSchema)


def timesheet(query: dict[str, Any]) -> dict[str, Any]:
    """Time entries summed, as :func:`services.reporting.access.timesheet_query` asks."""
    params = TimesheetQuerySchema().dump(query)
    return _figures("project-task", "/internal/reports/timesheet", TimesheetSchema, **params)


def activity_summary(project_id: int | None, days: int) -> dict[str, Any]:
    return _figures(
        "activity-log",
        "/internal/activities/summary",
        ActivitySummarySchema,
        project_id=project_id,
        days=days,
    )


def user_role(user_id: int) -> str | None:
    """The user's current role, or None when the account is gone or deactivated."""
    answer = call_service("user", "/internal/users", UserListSchema(), params={"ids": user_id})
    for user in answer["items"]:
        if user["id"] == user_id and user["is_active"]:
            return user["role"]
    return None
