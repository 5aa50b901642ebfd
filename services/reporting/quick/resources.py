"""Quick views, computed on request: your dashboard and a project's summary (SPEC §9).

Access is checked first (the dashboard is only ever your own; a project summary needs
membership, or the global admin role). Answers are then cached in Redis under a key
naming the user (and the project), so one user's figures are never served to another,
and computed once however many requests ask at once (:mod:`services.reporting.quick.cache`).
"""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from services.common.auth import current_principal, require_auth
from services.common.errors import abort
from services.common.report_contract import DashboardSchema, ProjectSummarySchema
from services.reporting import sources
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
