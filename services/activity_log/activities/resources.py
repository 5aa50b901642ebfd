"""The activity feed (cursor-paged, filtered, scoped to what the caller may see), its
stats and its CSV export (docs/services.md).

Who-from (``ip``, ``user_agent``) is personal data: the feed shows it to admins, and to
a user on their own actions only; on anyone else's entry it is null. The export is for
admins and has it all.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from flask import Response, stream_with_context
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import Select

from services.activity_log.activities import queries
from services.activity_log.activities.schemas import (
    ActivityExportArgsSchema,
    ActivityListArgsSchema,
    ActivityPageSchema,
    ActivitySchema,
    StatsArgsSchema,
    StatsSchema,
)
from services.activity_log.models import Activity
from services.common.auth import Principal, current_principal, require_auth
from services.common.db import utcnow
from services.common.memberships import member_project_ids

blp = Blueprint("activities", __name__, url_prefix="/api", description="Activity log")

EXPORT_BATCH = 1000
CSV_COLUMNS = tuple(ActivitySchema().fields)
# Cells a spreadsheet would run as a formula get a leading quote (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@blp.route("/activities")
class Activities(MethodView):
    decorators = [require_auth(scope="activities")]

    @blp.arguments(ActivityListArgsSchema, location="query")
    @blp.response(200, ActivityPageSchema)
    def get(self, args):
        """Activity you may see, newest first: all (admin), else your projects' and your own."""
        principal = current_principal()
        project_ids = () if principal.is_admin else member_project_ids(principal.id)
        query = queries.visible_to(queries.filtered(args), principal, project_ids)
        page = queries.page(query, args.get("cursor"), args["limit"])
        page["items"] = [_as_shown_to(principal, entry) for entry in page["items"]]
        return page


@blp.route("/activities/stats")
class ActivityStats(MethodView):
    decorators = [require_auth(admin=True)]

    @blp.arguments(StatsArgsSchema, location="query")
    @blp.response(200, StatsSchema)
    def get(self, args):
        """Entries per action and per day over the last ``days`` days (admin)."""
        return queries.stats(args["days"], utcnow().date())


@blp.route("/activities/export")
class ActivityExport(MethodView):
    decorators = [require_auth(admin=True)]

    @blp.arguments(ActivityExportArgsSchema, location="query")
    @blp.response(200, content_type="text/csv", description="The matching entries as CSV")
    def get(self, args):
        """Every entry matching the filters as CSV, newest first, streamed (admin)."""
        filename = f"activities-{utcnow():%Y%m%dT%H%M%SZ}.csv"
        return Response(
            stream_with_context(_csv_lines(queries.filtered(args))),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )


def _as_shown_to(principal: Principal, entry: Activity) -> Activity | dict[str, Any]:
    """The entry, its client's ip and user agent hidden unless the caller is an admin or
    the one who acted."""
    if principal.is_admin or entry.actor_id == principal.id:
        return entry
    shown = {field: getattr(entry, field) for field in CSV_COLUMNS}
    return {**shown, "ip": None, "user_agent": None}


def _csv_lines(query: Select) -> Iterator[str]:
    """The header, then one chunk of lines per batch read from the database."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    yield _drain(buffer)
    schema = ActivitySchema(many=True)
    for batch in queries.batches(query, EXPORT_BATCH):
        for entry in schema.dump(batch):
            writer.writerow([_cell(entry[column]) for column in CSV_COLUMNS])
        yield _drain(buffer)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value
