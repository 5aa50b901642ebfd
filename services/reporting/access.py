"""Which report parameters each type takes, and who may ask for what.

Checked when a report or schedule is requested (as the caller) and again when a report
runs (as the requester, with their role as the user service tells it then):

- ``project_summary`` needs ``project_id``; only its members and global admins may ask
  (others get 404, so a project's existence does not leak);
- ``user_workload``: within one ``project_id`` (who can see it), within the projects of
  one ``workspace_id`` the requester can see (its members; 404 for others), or of one
  ``user_id`` across projects (yourself; anyone for global admins; everybody when an
  admin omits it);
- ``overdue_tasks``: of one ``project_id`` (who can see it), of the projects of one
  ``workspace_id`` the requester can see (its members), else of the requester's
  projects (global admins: every project); optionally of one ``assignee_id``;
- ``activity_summary``: of one ``project_id`` (its members) or, for global admins, of
  the whole platform; over ``days`` days (default 30);
- ``system_overview``: global admins only (403 for others).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import marshmallow as ma
from marshmallow import validate

from services.common.errors import abort, flatten_messages
from services.reporting import sources


def _id(**kwargs: Any) -> ma.fields.Integer:
    return ma.fields.Integer(strict=True, validate=validate.Range(min=1), **kwargs)


class ProjectSummaryParams(ma.Schema):
    project_id = _id(required=True)


class _OneScope(ma.Schema):
    """A project or a workspace, not both."""

    project_id = _id()
    workspace_id = _id(
        metadata={"description": "The projects of this workspace you can see (its members)"}
    )

    @ma.validates_schema
    def _one_scope(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "project_id" in data and "workspace_id" in data:
            raise ma.ValidationError("Give project_id or workspace_id, not both.", "workspace_id")


class UserWorkloadParams(_OneScope):
    user_id = _id()


class OverdueTasksParams(_OneScope):
    assignee_id = _id()


class ActivitySummaryParams(ma.Schema):
    project_id = _id()
    days = ma.fields.Integer(strict=True, load_default=30, validate=validate.Range(min=1, max=365))


class SystemOverviewParams(ma.Schema):
    pass


PARAMS_SCHEMAS: dict[str, type[ma.Schema]] = {
    "project_summary": ProjectSummaryParams,
    "user_workload": UserWorkloadParams,
    "overdue_tasks": OverdueTasksParams,
    "activity_summary": ActivitySummaryParams,
    "system_overview": SystemOverviewParams,
}


@dataclass(frozen=True)
class Requester:
    id: int
    is_admin: bool


@dataclass(frozen=True)
class Refusal:
    """Why a requester may not have a report: the HTTP status and a sentence."""

    status: int
    detail: str


def load_params(report_type: str, params: dict[str, Any]) -> dict[str, Any]:
    """The type's parameters, validated (422 naming ``params.<field>`` otherwise)."""
    try:
        return PARAMS_SCHEMAS[report_type]().load(params)
    except ma.ValidationError as exc:
        abort(
            422,
            "The report's parameters did not validate.",
            errors=flatten_messages(exc.messages, "params"),
        )


def _unseen(
    requester: Requester, role_of: Callable[[int, int], str | None], scope_id: int, thing: str
) -> Refusal | None:
    """404 unless the requester has a role in the project or workspace (admins: always)."""
    if requester.is_admin or role_of(scope_id, requester.id) is not None:
        return None
    return Refusal(404, f"No such {thing}.")


def refusal(requester: Requester, report_type: str, params: dict[str, Any]) -> Refusal | None:
    """Why ``requester`` may not have this report, or None when they may.

    Raises :class:`~services.common.errors.ServiceUnavailable` when project-task cannot
    say."""
    if report_type == "system_overview":
        if not requester.is_admin:
            return Refusal(403, "The system overview is for admins only.")
        return None
    project_id = params.get("project_id")
    if project_id is not None:
        return _unseen(requester, sources.project_role, project_id, "project")
    workspace_id = params.get("workspace_id")
    if workspace_id is not None:
        return _unseen(requester, sources.workspace_role, workspace_id, "workspace")
    if requester.is_admin:
        return None
    if report_type == "user_workload" and params.get("user_id", requester.id) != requester.id:
        return Refusal(403, "Only admins can see another user's workload across projects.")
    if report_type == "activity_summary":
        return Refusal(403, "Only admins can summarise the whole platform's activity.")
    return None
