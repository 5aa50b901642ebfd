"""The SQL behind the feed, the export and the stats: filters, visibility, keyset pages."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Select, func, or_, select, tuple_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from services.activity_log.extensions import db
from services.activity_log.models import Activity, DailySummary
from services.common.auth import Principal

NEWEST_FIRST = (Activity.occurred_at.desc(), Activity.id.desc())


class utc_date(FunctionElement):
    """The UTC calendar day of a timestamp column, on PostgreSQL and SQLite alike."""

    type = sa.Date()
    inherit_cache = True
    name = "utc_date"


@compiles(utc_date)
def _utc_date_default(element: utc_date, compiler: Any, **kw: Any) -> str:
    # SQLite keeps timestamps as UTC text.
    return f"date({compiler.process(element.clauses, **kw)})"


@compiles(utc_date, "postgresql")
def _utc_date_postgresql(element: utc_date, compiler: Any, **kw: Any) -> str:
    return f"CAST(timezone('UTC', {compiler.process(element.clauses, **kw)}) AS DATE)"


def filtered(args: dict[str, Any]) -> Select:
    """Entries matching the feed's filters (every filter is optional)."""
    query = select(Activity)
    for name in ("project_id", "entity_type", "entity_id", "actor_id", "action"):
        if name in args:
            query = query.where(getattr(Activity, name) == args[name])
    if "since" in args:
        query = query.where(Activity.occurred_at >= args["since"])
    if "until" in args:
        query = query.where(Activity.occurred_at < args["until"])
    return query


def visible_to(query: Select, principal: Principal, project_ids: Iterable[int]) -> Select:
    """Admins see everything; others their projects' entries and their own actions."""
    if principal.is_admin:
        return query
    project_ids = sorted(project_ids)
    own = Activity.actor_id == principal.id
    if not project_ids:
        return query.where(own)
    return query.where(or_(Activity.project_id.in_(project_ids), own))


def after(query: Select, position: tuple[datetime, int] | None) -> Select:
    """The entries older than ``position`` (the feed runs newest first)."""
    if position is None:
        return query
    occurred_at, entry_id = position
    return query.where(tuple_(Activity.occurred_at, Activity.id) < tuple_(occurred_at, entry_id))


def page(query: Select, position: tuple[datetime, int] | None, limit: int) -> dict[str, Any]:
    """One page of the feed and the position the next one starts after (None at the end)."""
    rows = db.session.scalars(after(query, position).order_by(*NEWEST_FIRST).limit(limit + 1)).all()
    items = rows[:limit]
    more = len(rows) > limit
    return {
        "items": items,
        "next_cursor": (items[-1].occurred_at, items[-1].id) if more else None,
    }


def batches(query: Select, size: int) -> Iterator[list[Activity]]:
    """Every matching entry, newest first, ``size`` at a time (one query per batch)."""
    position = None
    while True:
        batch = page(query, position, size)
        if batch["items"]:
            yield batch["items"]
        position = batch["next_cursor"]
        if position is None:
            return
        db.session.expunge_all()


def stats(days: int, today: date) -> dict[str, Any]:
    """Counts by action and by UTC day over ``days`` days up to ``today``, entries already
    summarised by retention included."""
    first_day = today - timedelta(days=days - 1)
    since = datetime.combine(first_day, time.min, tzinfo=UTC)
    end = datetime.combine(today + timedelta(days=1), time.min, tzinfo=UTC)
    day = utc_date(Activity.occurred_at)
    live = db.session.execute(
        select(day, Activity.action, func.count())
        .where(Activity.occurred_at >= since, Activity.occurred_at < end)
        .group_by(day, Activity.action)
    ).all()
    summarised = db.session.execute(
        select(DailySummary.day, DailySummary.action, func.sum(DailySummary.count))
        .where(DailySummary.day >= first_day, DailySummary.day <= today)
        .group_by(DailySummary.day, DailySummary.action)
    ).all()
    by_action: Counter[str] = Counter()
    by_day: Counter[date] = Counter()
    for row_day, action, count in [*live, *summarised]:
        by_action[action] += int(count)
        by_day[row_day] += int(count)
    return {
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
