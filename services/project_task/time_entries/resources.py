"""Time entries: a task's entries, the entries across your projects, and one entry.

Members log their time on their project's tasks; everyone in the project reads it; the
author, project admins and owners, and global admins change or delete an entry (see
``rules.py`` for the days allowed and the 24-hour rule).
"""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import Select, select

from services.common.auth import Principal, current_principal, require_auth
from services.common.concurrency import check_if_match, etag_of
from services.common.errors import abort
from services.common.idempotency import idempotent
from services.common.pagination import paginate, with_link
from services.common.query_args import order_by
from services.project_task.access import across_projects, load_task, load_time_entry
from services.project_task.changes import changes_between
from services.project_task.extensions import db
from services.project_task.models import TimeEntry
from services.project_task.time_entries import rules
from services.project_task.time_entries.schemas import (
    AllTimeEntriesArgsSchema,
    TimeEntryCreateSchema,
    TimeEntryListArgsSchema,
    TimeEntryPageSchema,
    TimeEntrySchema,
    TimeEntryUpdateSchema,
)

blp = Blueprint("time_entries", __name__, url_prefix="/api", description="Time entries")

_schema = TimeEntrySchema()

SORT_COLUMNS = {
    "spent_on": TimeEntry.spent_on,
    "created_at": TimeEntry.created_at,
    "minutes": TimeEntry.minutes,
}


def _with_etag(entry: TimeEntry, status: int = 200, **headers: str):
    return entry, status, {"ETag": etag_of(_schema.dump(entry)), **headers}


def _page(query: Select, args: dict[str, Any], principal: Principal):
    """``query`` narrowed by the list's filters, sorted and paginated."""
    if "user_id" in args:
        user_id = principal.id if args["user_id"] == "me" else args["user_id"]
        query = query.where(TimeEntry.user_id == user_id)
    if "since" in args:
        query = query.where(TimeEntry.spent_on >= args["since"])
    if "until" in args:
        query = query.where(TimeEntry.spent_on <= args["until"])
    if "billable" in args:
        query = query.where(TimeEntry.billable.is_(args["billable"]))
    query = query.order_by(*order_by(args["sort"], SORT_COLUMNS, TimeEntry.id))
    return with_link(paginate(db.session, query, args["page"], args["per_page"]))


@blp.route("/tasks/<int:task_id>/time-entries")
class TaskTimeEntries(MethodView):
    decorators = [require_auth(scope="time")]

    @blp.arguments(TimeEntryListArgsSchema, location="query")
    @blp.response(200, TimeEntryPageSchema)
    def get(self, args, task_id: int):
        """The task's time entries (newest day first by default)."""
        principal = current_principal()
        load_task(task_id, principal)
        return _page(select(TimeEntry).where(TimeEntry.task_id == task_id), args, principal)

    @idempotent
    @blp.arguments(TimeEntryCreateSchema)
    @blp.response(201, TimeEntrySchema)
    def post(self, data, task_id: int):
        """Log time you spent on the task (project members and up)."""
        principal = current_principal()
        task, role = load_task(task_id, principal)
        rules.require_logging(role)
        entry = rules.create_entry(principal, task, data)
        db.session.commit()
        location = url_for("time_entries.TimeEntryById", entry_id=entry.id)
        return _with_etag(entry, 201, Location=location)


@blp.route("/time-entries")
class TimeEntries(MethodView):
    decorators = [require_auth(scope="time")]

    @blp.arguments(AllTimeEntriesArgsSchema, location="query")
    @blp.response(200, TimeEntryPageSchema)
    def get(self, args):
        """Time entries across your projects, filtered by project, task, user and days
        (global admins: every project with all=true)."""
        principal = current_principal()
        query = across_projects(
            select(TimeEntry), TimeEntry.project_id, args, principal, "time entries"
        )
        if "task_id" in args:
            query = query.where(TimeEntry.task_id == args["task_id"])
        return _page(query, args, principal)


@blp.route("/time-entries/<int:entry_id>")
class TimeEntryById(MethodView):
    decorators = [require_auth(scope="time")]

    @blp.response(200, TimeEntrySchema)
    def get(self, entry_id: int):
        """One time entry."""
        entry, _ = load_time_entry(entry_id, current_principal())
        return _with_etag(entry)

    @blp.arguments(TimeEntryUpdateSchema)
    @blp.response(200, TimeEntrySchema)
    def patch(self, data, entry_id: int):
        """Change an entry's day, minutes, note or billable flag (its author, project
        admins and owners)."""
        principal = current_principal()
        entry = self._changeable(entry_id, principal)
        before = _schema.dump(entry)
        check_if_match(before)
        day, minutes = data.get("spent_on", entry.spent_on), data.get("minutes", entry.minutes)
        if (day, minutes) != (entry.spent_on, entry.minutes):
            rules.check_daily_limit(entry.user_id, day, minutes, entry_id=entry.id)
        rules.add_spent(entry.task_id, minutes - entry.minutes)
        for field, value in data.items():
            setattr(entry, field, value)
        db.session.flush()
        after = _schema.dump(entry)
        changes = changes_between(before, after)
        if changes:
            rules.record_entry_event("time_entry.updated", principal, entry, after, changes)
        db.session.commit()
        return _with_etag(entry)

    @blp.response(204)
    def delete(self, entry_id: int):
        """Delete an entry (its author, project admins and owners)."""
        principal = current_principal()
        entry = self._changeable(entry_id, principal)
        dump = _schema.dump(entry)
        check_if_match(dump)
        rules.record_entry_event("time_entry.deleted", principal, entry, dump)
        rules.add_spent(entry.task_id, -entry.minutes)
        db.session.delete(entry)
        db.session.commit()

    @staticmethod
    def _changeable(entry_id: int, principal: Principal) -> TimeEntry:
        """The entry, read again under its author's time lock (a change committed
        meanwhile counts), once the caller may change it."""
        entry, role = load_time_entry(entry_id, principal)
        if not rules.may_change(entry, role, principal):
            abort(403, "Only the author, project admins and owners change a time entry.")
        rules.lock_time_of(entry.user_id)
        entry = db.session.scalar(
            select(TimeEntry)
            .where(TimeEntry.id == entry_id)
            .execution_options(populate_existing=True)
        )
        if entry is None:
            abort(404, "No such time entry.")
        return entry
