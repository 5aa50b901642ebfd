"""A report's life: enqueued after its row commits, claimed by one worker, generated,
stored, and ended ``completed`` or ``failed`` together with its ``report.completed`` /
``report.failed`` event (same transaction), then ``expired`` after ``REPORT_TTL_DAYS``.

Nothing is left hanging: when the broker is down at request time the report stays
``pending`` and :func:`requeue_stale` (beat) enqueues it again; a worker that died
mid-report leaves it ``running`` past ``REPORT_RUNNING_TIMEOUT_SECONDS``, and it is
claimed again; a generation error ends ``failed`` with the error.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, or_, select, update

from services.common.db import utcnow
from services.common.errors import ServiceUnavailable
from services.common.events import record_event
from services.common.logs import current_request_id
from services.reporting import access, documents, sources
from services.reporting.extensions import db
from services.reporting.formats import FORMATS, render
from services.reporting.models import Report, ReportSchedule
from services.reporting.schedules.timing import next_run
from services.reporting.storage import report_storage

log = logging.getLogger(__name__)

GENERATE_TASK = "reporting.generate_report"
BATCH = 500
ERROR_LENGTH = 2000


class RetryLater(Exception):
    """A source was unavailable; the report went back to ``pending`` to be tried again."""


def enqueue(report_ids: Iterable[int]) -> bool:
    """Hand the reports to the workers; False (and they stay pending) if the broker is down."""
    celery = current_app.extensions["celery"]
    ids = list(report_ids)
    try:
        for report_id in ids:
            celery.send_task(
                GENERATE_TASK,
                args=[report_id],
                headers={"request_id": current_request_id()},
            )
    except Exception as exc:  # the broker is away: the beat's requeue picks them up
        log.warning("could not enqueue reports %s (%s); requeue_stale will retry", ids, exc)
        return False
    return True


def event_data(report: Report) -> dict[str, Any]:
    """The ``report.*`` event's data, as the notification service reads it."""
    data: dict[str, Any] = {
        "requester_id": report.requester_id,
        "report": {
            "id": report.id,
            "type": report.type,
            "format": report.format,
            "error": report.error,
        },
    }
    if report.schedule_id is not None:
        data["delivery"] = "email"
    return data


def _finish(report: Report, status: str, event_type: str) -> None:
    now = utcnow()
    report.status = status
    report.cap_slot = None  # no longer active: the requester may ask for another
    report.finished_at = now
    report.expires_at = now + timedelta(days=current_app.config["REPORT_TTL_DAYS"])
    record_event(
        event_type,
        actor=None,
        entity=("report", report.id),
        project_id=report.params.get("project_id"),
        data=event_data(report),
    )
    db.session.commit()


def fail(report: Report, error: str) -> None:
    """End the report ``failed`` with ``error``, and tell the requester."""
    report.error = error[:ERROR_LENGTH]
    report.file_key = None
    _finish(report, "failed", "report.failed")


def claim(report_id: int, now: datetime | None = None) -> Report | None:
    """Take the report for this worker: pending, or running on a worker long gone."""
    now = now or utcnow()
    abandoned = now - timedelta(seconds=current_app.config["REPORT_RUNNING_TIMEOUT_SECONDS"])
    result = db.session.execute(
        update(Report)
        .where(
            Report.id == report_id,
            or_(
                Report.status == "pending",
                and_(Report.status == "running", Report.started_at < abandoned),
            ),
        )
        .values(status="running", started_at=now, error=None)
    )
    db.session.commit()
    if result.rowcount != 1:
        return None
    return db.session.get(Report, report_id)


def _requester(report: Report) -> access.Requester | None:
    role = sources.user_role(report.requester_id)
    return None if role is None else access.Requester(report.requester_id, role == "admin")


def _produce(report: Report) -> tuple[str, int] | str:
    """The stored file's (key, size), or why the report cannot be made."""
    requester = _requester(report)
    if requester is None:
        return "The requester's account is no longer active."
    refused = access.refusal(requester, report.type, report.params)
    if refused is not None:
        return refused.detail
    document = documents.build(requester, report.type, report.params)
    if document is None:
        return "No such project."
    meta = {
        "id": report.id,
        "type": report.type,
        "format": report.format,
        "params": report.params,
        "requester_id": report.requester_id,
        "generated_at": utcnow().isoformat(),
    }
    content = render(
        document, report.format, meta, max_rows=current_app.config["PDF_MAX_TABLE_ROWS"]
    )
    return report_storage().save(report.id, FORMATS[report.format].extension, content)


def generate(report_id: int, *, final_attempt: bool = True) -> str:
    """Make one report; return its final status (or ``skipped`` when another worker has
    it or it is gone). Raises :class:`RetryLater` when a source is down and this is not
    the final attempt."""
    report = claim(report_id)
    if report is None:
        return "skipped"
    try:
        outcome = _produce(report)
    except ServiceUnavailable as exc:
        log.warning("report %s: a source is unavailable: %s", report_id, exc)
        if not final_attempt:
            _release(report_id)
            raise RetryLater(str(exc)) from exc
        return _fail_by_id(report_id, "The report's data is unavailable; try again later.")
    except Exception as exc:
        db.session.rollback()
        log.exception("report %s failed", report_id)
        return _fail_by_id(
            report_id, f"Generating the report failed: {exc}" if str(exc) else repr(exc)
        )
    if isinstance(outcome, str):
        return _fail_by_id(report_id, outcome)
    key, size = outcome
    report = db.session.get(Report, report_id, populate_existing=True)
    if report is None:  # deleted while it ran
        report_storage().delete(key)
        return "skipped"
    report.file_key, report.size, report.error = key, size, None
    _finish(report, "completed", "report.completed")
    return "completed"


def _fail_by_id(report_id: int, error: str) -> str:
    db.session.rollback()
    report = db.session.get(Report, report_id, populate_existing=True)
    if report is None:
        return "skipped"
    fail(report, error)
    return "failed"


def _release(report_id: int) -> None:
    db.session.rollback()
    db.session.execute(
        update(Report)
        .where(Report.id == report_id, Report.status == "running")
        .values(status="pending", started_at=None)
    )
    db.session.commit()


def requeue_stale(now: datetime | None = None) -> list[int]:
    """Enqueue again the reports pending longer than ``REPORT_REQUEUE_AFTER_SECONDS`` and
    those running on a worker that died."""
    now = now or utcnow()
    config = current_app.config
    pending_before = now - timedelta(seconds=config["REPORT_REQUEUE_AFTER_SECONDS"])
    abandoned = now - timedelta(seconds=config["REPORT_RUNNING_TIMEOUT_SECONDS"])
    ids = list(
        db.session.scalars(
            select(Report.id)
            .where(
                or_(
                    and_(Report.status == "pending", Report.created_at < pending_before),
                    and_(Report.status == "running", Report.started_at < abandoned),
                )
            )
            .order_by(Report.id)
            .limit(BATCH)
        )
    )
    db.session.rollback()
    if ids:
        enqueue(ids)
    return ids


def expire_reports(now: datetime | None = None) -> int:
    """Mark finished reports past their ``expires_at`` expired and delete their files."""
    now = now or utcnow()
    storage = report_storage()
    expired = 0
    while True:
        rows = db.session.execute(
            select(Report.id, Report.file_key)
            .where(Report.status.in_(("completed", "failed")), Report.expires_at <= now)
            .order_by(Report.id)
            .limit(BATCH)
        ).all()
        if not rows:
            db.session.rollback()
            return expired
        db.session.execute(
            update(Report)
            .where(Report.id.in_([row.id for row in rows]))
            .values(status="expired", file_key=None)
        )
        db.session.commit()
        # Files go after the commit: a row never points at a file that is gone.
        for row in rows:
            if row.file_key:
                storage.delete(row.file_key)
        expired += len(rows)


def run_schedules(now: datetime | None = None) -> list[int]:
    """Create the reports of every schedule that is due, advance the schedules, enqueue."""
    now = now or utcnow()
    query = (
        select(ReportSchedule)
        .where(ReportSchedule.next_run_at <= now)
        .order_by(ReportSchedule.next_run_at, ReportSchedule.id)
        .limit(BATCH)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        # Two beats (or a slow run overlapping the next) never make a report twice.
        query = query.with_for_update(skip_locked=True)
    due = list(db.session.scalars(query))
    reports = [
        Report(
            requester_id=schedule.owner_id,
            type=schedule.type,
            params=dict(schedule.params),
            format=schedule.format,
            schedule_id=schedule.id,
        )
        for schedule in due
    ]
    for schedule in due:
        schedule.last_run_at = now
        schedule.next_run_at = next_run(schedule.frequency, schedule.weekday, schedule.hour, now)
    db.session.add_all(reports)
    db.session.commit()
    ids = [report.id for report in reports]
    if ids:
        enqueue(ids)
    return ids
