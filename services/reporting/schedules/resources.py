"""Report schedules: list, create, read, delete (docs/services.md). The beat job
``reporting.run_schedules`` makes their reports, which are e-mailed when ready."""

from __future__ import annotations

from typing import NoReturn

from flask import current_app, url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select, update

from services.common.auth import Principal, current_principal, require_auth
from services.common.caps import add_within_cap, cap_reached
from services.common.concurrency import check_if_match, etag_of
from services.common.db import utcnow
from services.common.errors import abort
from services.common.idempotency import idempotent
from services.common.pagination import paginate, with_link
from services.reporting.extensions import db
from services.reporting.models import Report, ReportSchedule
from services.reporting.reports.resources import check_request
from services.reporting.schedules.schemas import (
    ScheduleCreateSchema,
    ScheduleListArgsSchema,
    SchedulePageSchema,
    ScheduleSchema,
)
from services.reporting.schedules.timing import next_run

blp = Blueprint(
    "report_schedules",
    __name__,
    url_prefix="/api/report-schedules",
    description="Scheduled reports",
)

_schema = ScheduleSchema()


def _refuse_too_many(limit: int) -> NoReturn:
    abort(
        409,
        f"You have {limit} report schedules; delete one to add another.",
        code="too_many_schedules",
    )


def load_schedule(schedule_id: int, principal: Principal) -> ReportSchedule:
    """The schedule if it is the caller's (or the caller is an admin); else 404."""
    schedule = db.session.get(ReportSchedule, schedule_id)
    if schedule is None or (schedule.owner_id != principal.id and not principal.is_admin):
        abort(404, "No such report schedule.")
    return schedule


@blp.route("")
class Schedules(MethodView):
    decorators = [require_auth(scope="reports")]

    @blp.arguments(ScheduleListArgsSchema, location="query")
    @blp.response(200, SchedulePageSchema)
    def get(self, args):
        """Your report schedules (global admins: everyone's with all=true)."""
        principal = current_principal()
        if args["all"] and not principal.is_admin:
            abort(403, "Only admins can list everyone's schedules.", code="forbidden")
        query = select(ReportSchedule)
        if not args["all"]:
            query = query.where(ReportSchedule.owner_id == principal.id)
        query = query.order_by(ReportSchedule.created_at.desc(), ReportSchedule.id.desc())
        page = paginate(db.session, query, args["page"], args["per_page"])
        return with_link(page)

    @idempotent
    @blp.arguments(ScheduleCreateSchema)
    @blp.response(201, ScheduleSchema)
    @blp.alt_response(409, response="CONFLICT")
    @blp.alt_response(404, response="NOT_FOUND")
    def post(self, data):
        """Schedule a report, daily or weekly, e-mailed to you when ready (at most
        REPORT_SCHEDULES_MAX_PER_USER each: beyond, 409 ``too_many_schedules``)."""
        principal = current_principal()
        cap = {
            "owner": ReportSchedule.owner_id,
            "slot": ReportSchedule.cap_slot,
            "limit": current_app.config["REPORT_SCHEDULES_MAX_PER_USER"],
        }
        if cap_reached(db.session, owner_id=principal.id, **cap):
            _refuse_too_many(cap["limit"])
        data["params"] = check_request(principal, data["type"], data["params"])
        schedule = ReportSchedule(
            owner_id=principal.id,
            next_run_at=next_run(data["frequency"], data["weekday"], data["hour"], utcnow()),
            **data,
        )
        if not add_within_cap(db.session, schedule, **cap):
            _refuse_too_many(cap["limit"])
        location = url_for("report_schedules.ScheduleById", schedule_id=schedule.id)
        return schedule, 201, {"Location": location, "ETag": etag_of(_schema.dump(schedule))}


@blp.route("/<int:schedule_id>")
class ScheduleById(MethodView):
    decorators = [require_auth(scope="reports")]

    @blp.response(200, ScheduleSchema)
    def get(self, schedule_id: int):
        """One of your report schedules (admins: anyone's)."""
        schedule = load_schedule(schedule_id, current_principal())
        return schedule, 200, {"ETag": etag_of(_schema.dump(schedule))}

    @blp.response(204)
    def delete(self, schedule_id: int):
        """Stop a schedule (the reports it made stay)."""
        schedule = load_schedule(schedule_id, current_principal())
        check_if_match(_schema.dump(schedule))
        db.session.execute(
            update(Report).where(Report.schedule_id == schedule.id).values(schedule_id=None)
        )
        db.session.delete(schedule)
        db.session.commit()
