"""The timer: one running timer per user, started on a task and stopped into a time
entry (see ``rules.py`` for its length and day)."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from services.common.auth import current_principal, require_auth
from services.common.concurrency import check_if_match, etag_of
from services.common.db import utcnow
from services.common.errors import abort
from services.common.idempotency import idempotent
from services.project_task.access import load_task
from services.project_task.extensions import db
from services.project_task.models import Timer
from services.project_task.time_entries import rules as time_rules
from services.project_task.timer import rules
from services.project_task.timer.schemas import (
    StoppedTimerSchema,
    TimerSchema,
    TimerStartedSchema,
    TimerStartSchema,
)

blp = Blueprint("timer", __name__, url_prefix="/api/timer", description="Timer")

_schema = TimerSchema()
LOCATION = "/api/timer"


@blp.route("")
class TimerView(MethodView):
    decorators = [require_auth(scope="time")]

    @blp.response(200, TimerSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self):
        """Your running timer (404 when none runs)."""
        timer = rules.running_timer(current_principal().id)
        if timer is None:
            abort(404, "No timer is running.")
        return timer, 200, {"ETag": etag_of(_schema.dump(timer))}

    @idempotent
    @blp.arguments(TimerStartSchema)
    @blp.response(201, TimerStartedSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def post(self, data):
        """Start a timer on a task (project members and up); a timer already running
        stops first, into its entry."""
        principal = current_principal()
        task, role = load_task(data["task_id"], principal)
        time_rules.require_logging(role)
        time_rules.lock_time_of(principal.id)
        running = rules.running_timer(principal.id)
        stopped = rules.stop(running, principal) if running is not None else None
        now = utcnow()
        timer = Timer(
            user_id=principal.id,
            task_id=task.id,
            project_id=task.project_id,
            spent_on=data.get("spent_on") or now.date(),
            note=data["note"],
            billable=data["billable"],
            started_at=now,
        )
        db.session.add(timer)
        db.session.flush()
        started = rules.values(timer)
        rules.record_timer_event("timer.started", principal, timer, {"timer": _schema.dump(timer)})
        db.session.commit()
        headers = {"Location": LOCATION, "ETag": etag_of(_schema.dump(started))}
        return {**started, "stopped": stopped}, 201, headers

    @blp.response(200, StoppedTimerSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def delete(self):
        """Stop your timer into a time entry (404 when none runs)."""
        principal = current_principal()
        time_rules.lock_time_of(principal.id)
        timer = rules.running_timer(principal.id)
        if timer is None:
            abort(404, "No timer is running.")
        check_if_match(_schema.dump(timer))
        stopped = rules.stop(timer, principal)
        db.session.commit()
        return stopped
