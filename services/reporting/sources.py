"""Where the reporting data comes from: the other services' internal endpoints.

The figures are aggregate queries the owning service runs on its own tables and serves
under ``/internal`` (one call per report or quick view, never one per row):

- project-task: ``GET /internal/reports/dashboard?user_id=``,
  ``/internal/reports/project-summary/{id}``, ``/internal/reports/user-workload?user_id=
  (N|all)&project_id=``, ``/internal/reports/overdue?user_id=&project_id=&assignee_id=``,
  ``/internal/reports/system``; and ``GET /internal/projects/{id}/access?user_id=`` →
  ``{project_id, role}`` or 404 for the access checks;
- activity-log: ``GET /internal/activities/summary?project_id=&days=``;
- user: ``GET /internal/users?ids=`` → the requester's current role when a report runs.

A failure raises :class:`SourceUnavailable` (worth retrying); a missing project
:class:`SourceNotFound`.
"""

from __future__ import annotations

from typing import Any

import requests
from flask import current_app

from services.common.http import internal_call


class SourceUnavailable(Exception):
    """Another service did not give a usable answer; worth retrying later."""


class SourceNotFound(Exception):
    """The thing asked about does not exist (or the user is no member of it)."""


def _get(base_setting: str, path: str, *, timeout: float | None = None, **params: Any) -> Any:
    url = f"{current_app.config[base_setting]}{path}"
    query = {key: value for key, value in params.items() if value is not None}
    try:
        response = internal_call("GET", url, params=query, timeout=timeout)
    except requests.RequestException as exc:
        raise SourceUnavailable(f"{url} unreachable: {exc}") from exc
    if response.status_code == 404:
        raise SourceNotFound(path)
    if response.status_code != 200:
        raise SourceUnavailable(f"{url} answered {response.status_code}")
    try:
        return response.json()
    except ValueError as exc:
        raise SourceUnavailable(f"{url} answered something that is not JSON") from exc


def _project_task(path: str, **params: Any) -> Any:
    timeout = current_app.config["REPORT_SOURCE_TIMEOUT"]
    return _get("PROJECT_TASK_SERVICE_URL", path, timeout=timeout, **params)


def project_role(project_id: int, user_id: int) -> str | None:
    """``user_id``'s role in the project, or None when they are no member (or it is gone)."""
    try:
        answer = _get(
            "PROJECT_TASK_SERVICE_URL", f"/internal/projects/{project_id}/access", user_id=user_id
        )
    except SourceNotFound:
        return None
    return answer.get("role") if isinstance(answer, dict) else None


def dashboard(user_id: int) -> dict[str, Any]:
    return _project_task("/internal/reports/dashboard", user_id=user_id)


def project_summary(project_id: int) -> dict[str, Any]:
    return _project_task(f"/internal/reports/project-summary/{project_id}")


def user_workload(user_id: int | None, project_id: int | None) -> dict[str, Any]:
    """Workload of ``user_id`` (None: everybody), optionally within one project."""
    return _project_task(
        "/internal/reports/user-workload",
        user_id="all" if user_id is None else user_id,
        project_id=project_id,
    )


def overdue(user_id: int | None, project_id: int | None, assignee_id: int | None) -> dict[str, Any]:
    return _project_task(
        "/internal/reports/overdue",
        user_id=user_id,
        project_id=project_id,
        assignee_id=assignee_id,
    )


def system() -> dict[str, Any]:
    return _project_task("/internal/reports/system")


def activity_summary(project_id: int | None, days: int) -> dict[str, Any]:
    timeout = current_app.config["REPORT_SOURCE_TIMEOUT"]
    return _get(
        "ACTIVITY_LOG_SERVICE_URL",
        "/internal/activities/summary",
        timeout=timeout,
        project_id=project_id,
        days=days,
    )


def user_role(user_id: int) -> str | None:
    """The user's current role, or None when the account is gone or deactivated."""
    answer = _get("USER_SERVICE_URL", "/internal/users", ids=str(user_id))
    for user in answer.get("items", []) if isinstance(answer, dict) else []:
        if user.get("id") == user_id and user.get("is_active", True):
            return user.get("role")
    return None
