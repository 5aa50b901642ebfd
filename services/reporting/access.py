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
- ``system_overview``: global admins only (403 for others);
- ``timesheet``: the time of one ``project_id`` (its members, viewers included), of one
  ``user_id`` across projects (yourself; anyone for global admins), or of the user
  within the project; neither means your own time. From ``since`` to ``until`` (both
  included, at most 366 days; by default the 7 days to today, UTC, decided when the
  report runs, so a schedule always covers its last week), rows per ``group_by``
  (``day``, ``week``, ``user`` or ``task``; default ``day``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import marshmallow as ma
from marshmallow import validate

from services.common.db import utcnow
from services.common.errors import abort, flatten_messages
from services.common.report_contract import (
    TIMESHEET_FIRST_DAY,
    TIMESHEET_GROUPS,
    TIMESHEET_LAST_DAY,
    check_period,
)
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


TIMESHEET_DAYS = 7
_DAYS = validate.Range(min=TIMESHEET_FIRST_DAY, max=TIMESHEET_LAST_DAY)


def _day(value: date | str | None) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else value


def timesheet_period(params: dict[str, Any], today: date) -> tuple[date, date]:
    """``since`` and ``until``, the ones omitted decided as of ``today``: until today,
    since ``TIMESHEET_DAYS`` days before ``until`` (that day included)."""
    until = _day(params.get("until")) or today
    since = _day(params.get("since")) or until - timedelta(days=TIMESHEET_DAYS - 1)
    return since, until


class TimesheetParams(ma.Schema):
    project_id = _id()
    user_id = _id()
    since = ma.fields.Date(validate=_DAYS, metadata={"description": "YYYY-MM-DD, included"})
    until = ma.fields.Date(
        validate=_DAYS, metadata={"description": "YYYY-MM-DD, included; default today"}
    )
    group_by = ma.fields.String(load_default="day", validate=validate.OneOf(TIMESHEET_GROUPS))

    @ma.validates_schema
    def _period(self, data: dict[str, Any], **kwargs: Any) -> None:
        check_period(*timesheet_period(data, utcnow().date()))

    @ma.post_load
    def _as_text(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        # Kept with the report as JSON; the days left out are decided when it runs.
        return {k: v.isoformat() if isinstance(v, date) else v for k, v in data.items()}


PARAMS_SCHEMAS: dict[str, type[ma.Schema]] = {
    "project_summary": ProjectSummaryParams,
    "user_workload": UserWorkloadParams,
    "overdue_tasks": OverdueTasksParams,
    "activity_summary": ActivitySummaryParams,
    "system_overview": SystemOverviewParams,
    "timesheet": TimesheetParams,
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


# Reports of one user across projects: what they show, for the refusal.
_ACROSS_PROJECTS = {
    "user_workload": "workload across projects",
    "timesheet": "time across projects",
}


def timesheet_query(requester: Requester, params: dict[str, Any]) -> dict[str, Any]:
    """The timesheet ``params`` as project-task is asked for them: the days decided
    (today, UTC) and, without a project or a user, the requester's own time."""
    since, until = timesheet_period(params, utcnow().date())
    user_id = params.get("user_id")
    if user_id is None and params.get("project_id") is None:
        user_id = requester.id
    return {
        "project_id": params.get("project_id"),
        "user_id": user_id,
        "since": since,
        "until": until,
        "group_by": params.get("group_by", "day"),
    }


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
    if report_type in _ACROSS_PROJECTS and params.get("user_id", requester.id) != requester.id:
        return Refusal(403, f"Only admins can see another user's {_ACROSS_PROJECTS[report_type]}.")
    if report_type == "activity_summary":
        return Refusal(403, "Only admins can summarise the whole platform's activity.")
    return None
