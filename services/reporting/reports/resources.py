"""Report jobs: request one (202), list, read, delete, download (docs/services.md)."""

from __future__ import annotations

from typing import Any, NoReturn

from flask import current_app, send_file, url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from services.common.auth import Principal, current_principal, require_auth
from services.common.caps import add_within_cap, cap_reached
from services.common.concurrency import check_if_match, etag_of
from services.common.db import utcnow
from services.common.errors import abort
from services.common.idempotency import idempotent
from services.common.pagination import paginate, with_link
from services.reporting import access
from services.reporting.extensions import db
from services.reporting.formats import FORMATS
from services.reporting.generation import enqueue
from services.reporting.models import Report
from services.reporting.reports.schemas import (
    ReportCreateSchema,
    ReportListArgsSchema,
    ReportPageSchema,
    ReportSchema,
)
from services.reporting.storage import report_storage

blp = Blueprint("reports", __name__, url_prefix="/api/reports", description="Reports")

# What a request refused for too many active reports is told to wait: about one report's
# generation.
RETRY_AFTER_SECONDS = 10

_schema = ReportSchema()


def check_request(principal: Principal, report_type: str, params: dict) -> dict:
    """The validated params, once the caller may have this report (else 404/403/503)."""
    params = access.load_params(report_type, params)
    requester = access.Requester(principal.id, principal.is_admin)
    refused = access.refusal(requester, report_type, params)
    if refused is not None:
        abort(refused.status, refused.detail)
    return params


def load_report(report_id: int, principal: Principal) -> Report:
    """The report if it is the caller's (or the caller is an admin); else 404."""
    report = db.session.get(Report, report_id)
    if report is None or (report.requester_id != principal.id and not principal.is_admin):
        abort(404, "No such report.")
    return report


def _active_reports_cap() -> dict[str, Any]:
    return {
        "owner": Report.requester_id,
        "slot": Report.cap_slot,
        "limit": current_app.config["REPORTS_MAX_ACTIVE_PER_USER"],
    }


def _refuse_too_many(limit: int) -> NoReturn:
    abort(
        429,
        f"You have {limit} reports pending or running; request another once one is done.",
        code="too_many_reports",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def _with_etag(report: Report, status: int = 200, **headers: str):
    return report, status, {"ETag": etag_of(_schema.dump(report)), **headers}


@blp.route("")
class Reports(MethodView):
    decorators = [require_auth(scope="reports")]

    @blp.arguments(ReportListArgsSchema, location="query")
    @blp.response(200, ReportPageSchema)
    def get(self, args):
        """Your reports, newest first (global admins: everyone's with all=true)."""
        principal = current_principal()
        if args["all"] and not principal.is_admin:
            abort(403, "Only admins can list everyone's reports.", code="forbidden")
        query = select(Report)
        if not args["all"]:
            query = query.where(Report.requester_id == principal.id)
        if "status" in args:
            query = query.where(Report.status.in_(args["status"]))
        if "type" in args:
            query = query.where(Report.type.in_(args["type"]))
        query = query.order_by(Report.created_at.desc(), Report.id.desc())
        page = paginate(db.session, query, args["page"], args["per_page"])
        return with_link(page)

    @idempotent
    @blp.arguments(ReportCreateSchema)
    @blp.response(202, ReportSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def post(self, data):
        """Request a report; it is made in the background (poll it, or wait for the
        notification). At most REPORTS_MAX_ACTIVE_PER_USER of yours may be pending or
        running at once: beyond, 429 ``too_many_reports`` with Retry-After."""
        principal = current_principal()
        cap = _active_reports_cap()
        if cap_reached(db.session, owner_id=principal.id, **cap):
            _refuse_too_many(cap["limit"])
        params = check_request(principal, data["type"], data["params"])
        report = Report(
            requester_id=principal.id, type=data["type"], params=params, format=data["format"]
        )
        if not add_within_cap(db.session, report, **cap):
            _refuse_too_many(cap["limit"])
        enqueue([report.id])
        location = url_for("reports.ReportById", report_id=report.id)
        return _with_etag(report, 202, Location=location)


@blp.route("/<int:report_id>")
class ReportById(MethodView):
    decorators = [require_auth(scope="reports")]

    @blp.response(200, ReportSchema)
    def get(self, report_id: int):
        """One of your reports (admins: anyone's)."""
        return _with_etag(load_report(report_id, current_principal()))

    @blp.response(204)
    def delete(self, report_id: int):
        """Delete a report and its file."""
        report = load_report(report_id, current_principal())
        check_if_match(_schema.dump(report))
        file_key = report.file_key
        db.session.delete(report)
        db.session.commit()
        if file_key:
            report_storage().delete(file_key)


@blp.route("/<int:report_id>/download")
class ReportDownload(MethodView):
    decorators = [require_auth(scope="reports")]

    @blp.response(
        200,
        content_type="application/octet-stream",
        description="The report file (JSON, CSV or PDF, as its format says)",
    )
    @blp.alt_response(409, response="CONFLICT")
    @blp.alt_response(410, response="GONE")
    def get(self, report_id: int):
        """The report's file, streamed (409 until it is completed; 410 once expired)."""
        report = load_report(report_id, current_principal())
        expired = report.expires_at is not None and report.expires_at <= utcnow()
        if report.status == "expired" or (report.status == "completed" and expired):
            abort(410, "The report has expired; request a new one.", code="gone")
        if report.status != "completed" or not report.file_key:
            abort(409, f"The report is {report.status}, not completed.", code="conflict")
        path = report_storage().path(report.file_key)
        if not path.exists():
            abort(410, "The report's file is gone; request a new one.", code="gone")
        kind = FORMATS[report.format]
        response = send_file(
            path,
            mimetype=kind.content_type,
            as_attachment=True,
            download_name=f"report-{report.id}-{report.type}.{kind.extension}",
            conditional=True,
            etag=False,
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response
