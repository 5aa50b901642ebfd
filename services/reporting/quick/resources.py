"""Quick views, computed on request: your dashboard, a project's summary and a
timesheet (docs/services.md).

Access is checked first (the dashboard is only ever your own; a project summary needs
membership, or the global admin role; a timesheet follows the rules of the timesheet
report, :mod:`services.reporting.access`). Answers are then cached in Redis under a key
naming the user (and the project, or the timesheet's parameters), so one user's figures
are never served to another, and computed once however many requests ask at once
(:mod:`services.reporting.quick.cache`).
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from services.common.auth import current_principal, require_auth
from services.common.errors import abort
from services.common.report_contract import DashboardSchema, ProjectSummarySchema, TimesheetSchema
from services.reporting import access, sources
from services.reporting.quick.cache import cached

blp = Blueprint(
    "quick", __name__, url_prefix="/api/reports/quick", description="Quick report views"
)

CACHE_PREFIX = "reporting:quick"


def _headers(state: str) -> dict[str, str]:
    return {"X-Cache": state, "Cache-Control": "private, no-store"}


@blp.route("/dashboard")
class Dashboard(MethodView):
    decorators = [require_auth(scope="reports")]

    @blp.response(200, DashboardSchema)
    def get(self):
        """Your dashboard: projects, tasks by status, overdue, due this week, completion
        rate and your open tasks."""
        principal = current_principal()

        def compute() -> dict[str, Any]:
            return DashboardSchema().dump(sources.dashboard(principal.id))

        value, state = cached(f"{CACHE_PREFIX}:dashboard:{principal.id}", compute)
        return value, 200, _headers(state)


@blp.route("/project-summary/<int:project_id>")
class QuickProjectSummary(MethodView):
    decorators = [require_auth(scope="reports")]

    @blp.response(200, ProjectSummarySchema)
    def get(self, project_id: int):
        """A project's summary: by status, priority and assignee, overdue, completion
        rate, created vs completed per week (members; global admins: any project)."""
        principal = current_principal()
        if not principal.is_admin and sources.project_role(project_id, principal.id) is None:
            abort(404, "No such project.")

        def compute() -> dict[str, Any]:
            summary = sources.project_summary(project_id)
            if summary is None:
                abort(404, "No such project.")
            return ProjectSummarySchema().dump(summary)

        key = f"{CACHE_PREFIX}:project-summary:{principal.id}:{project_id}"
        value, state = cached(key, compute)
        return value, 200, _headers(state)


class TimesheetArgsSchema(access.TimesheetParams):
    """The timesheet report's parameters, from the query string."""

    project_id = ma.fields.Integer(validate=ma.validate.Range(min=1, max=2**31 - 1))
    user_id = ma.fields.Integer(validate=ma.validate.Range(min=1, max=2**31 - 1))


@blp.route("/timesheet")
class QuickTimesheet(MethodView):
    decorators = [require_auth(scope="reports")]

    @blp.arguments(TimesheetArgsSchema, location="query")
    @blp.response(200, TimesheetSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, args):
        """Time logged, per day, week, person or task: of a project (its members), of a
        user across projects (yourself; global admins: anyone), or your own time."""
        principal = current_principal()
        requester = access.Requester(principal.id, principal.is_admin)
        refused = access.refusal(requester, "timesheet", args)
        if refused is not None:
            abort(refused.status, refused.detail)
        query = access.timesheet_query(requester, args)

        def compute() -> dict[str, Any]:
            return TimesheetSchema().dump(sources.timesheet(query))

        scope = ":".join(str(query[name]) for name in sorted(query))
        value, state = cached(f"{CACHE_PREFIX}:timesheet:{principal.id}:{scope}", compute)
        return value, 200, _headers(state)
