"""Endpoints for other services only (``X-Service-Token``; nginx never routes them).

The reporting service asks for an activity summary: entries per action and per UTC day
over the last ``days`` days (today included), of one project or of the whole platform,
with the counts retention already folded into the daily summaries. Who may see which
project's summary is decided by the reporting service before it asks.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import marshmallow as ma
from flask import Blueprint, request
from sqlalchemy import func, select

from services.activity_log.activities.queries import utc_date
from services.activity_log.activities.schemas import MAX_STATS_DAYS
from services.activity_log.extensions import db
from services.activity_log.models import Activity, DailySummary
from services.common.db import utcnow
from services.common.errors import abort, flatten_messages
from services.common.http import require_service_token
from services.common.report_contract import ActivitySummarySchema

blueprint = Blueprint("internal", __name__, url_prefix="/internal")


class SummaryArgsSchema(ma.Schema):
    project_id = ma.fields.Integer(validate=ma.validate.Range(min=1))
    days = ma.fields.Integer(load_default=30, validate=ma.validate.Range(min=1, max=MAX_STATS_DAYS))


def summary(days: int, today: date, project_id: int | None) -> dict[str, Any]:
    """Counts by action and by UTC day over ``days`` days up to ``today`` (two queries)."""
    first_day = today - timedelta(days=days - 1)
    since = datetime.combine(first_day, time.min, tzinfo=UTC)
    end = datetime.combine(today + timedelta(days=1), time.min, tzinfo=UTC)
    day = utc_date(Activity.occurred_at)
    live_query = (
        select(day, Activity.action, func.count())
        .where(Activity.occurred_at >= since, Activity.occurred_at < end)
        .group_by(day, Activity.action)
    )
    summarised_query = (
        select(DailySummary.day, DailySummary.action, func.sum(DailySummary.count))
        .where(DailySummary.day >= first_day, DailySummary.day <= today)
        .group_by(DailySummary.day, DailySummary.action)
    )
    if project_id is not None:
        live_query = live_query.where(Activity.project_id == project_id)
        summarised_query = summarised_query.where(DailySummary.project_id == project_id)
    by_action: Counter[str] = Counter()
    by_day: Counter[date] = Counter()
    for row_day, action, count in [
        *db.session.execute(live_query),
        *db.session.execute(summarised_query),
    ]:
        by_action[action] += int(count)
        by_day[row_day] += int(count)
    return {
        "project_id": project_id,
        "days": days,
        "since": since,
        "total": sum(by_action.values()),
        "by_action": [
            {"action": action, "count": count}
            for action, count in sorted(by_action.items(), key=lambda item: (-item[1], item[0]))
        ],
        "by_day": [
            {"day": each, "count": by_day[each]}
            for each in (first_day + timedelta(days=offset) for offset in range(days))
        ],
    }


@blueprint.get("/activities/summary")
@require_service_token
def activity_summary():
    """Entries per action and per day over ``days`` days, of ``project_id`` or all."""
    try:
        args = SummaryArgsSchema().load(request.args)
    except ma.ValidationError as exc:
        abort(422, "The query did not validate.", errors=flatten_messages(exc.messages))
    return ActivitySummarySchema().dump(
        summary(args["days"], utcnow().date(), args.get("project_id"))
    )
