"""Retention (docs/services.md): entries older than ``LOG_RETENTION_DAYS`` are deleted in batches,
each batch's counts merged into the daily summaries in the same transaction as the delete,
so a count is never lost and never counted twice."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import delete, select

from services.activity_log.extensions import db
from services.activity_log.models import Activity, DailySummary, ProcessedEvent
from services.common.db import utcnow

SummaryKey = tuple[date, str, int | None]


@dataclass(frozen=True)
class RetentionResult:
    cutoff: datetime
    deleted: int
    batches: int
    processed_events_pruned: int


def purge_expired(now: datetime | None = None) -> RetentionResult:
    """Summarise and delete every entry older than the retention limit."""
    config = current_app.config
    cutoff = (now or utcnow()) - timedelta(days=config["LOG_RETENTION_DAYS"])
    batch_size = config["LOG_RETENTION_BATCH_SIZE"]
    deleted = batches = 0
    while True:
        count = _purge_batch(cutoff, batch_size)
        if count:
            deleted += count
            batches += 1
        if count < batch_size:
            break
    return RetentionResult(cutoff, deleted, batches, _prune_processed_events(cutoff, batch_size))


def _purge_batch(cutoff: datetime, batch_size: int) -> int:
    """One transaction: count the oldest expired entries into the summaries, delete them."""
    query = (
        select(Activity.id, Activity.occurred_at, Activity.action, Activity.project_id)
        .where(Activity.occurred_at < cutoff)
        .order_by(Activity.occurred_at, Activity.id)
        .limit(batch_size)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        # A second run at the same time takes other rows instead of counting these twice.
        query = query.with_for_update(skip_locked=True)
    try:
        rows = db.session.execute(query).all()
        if not rows:
            db.session.rollback()
            return 0
        _merge_into_summaries(
            Counter((row.occurred_at.date(), row.action, row.project_id) for row in rows)
        )
        db.session.execute(
            delete(Activity).where(Activity.id.in_([row.id for row in rows])),
            execution_options={"synchronize_session": False},
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return len(rows)


def _merge_into_summaries(counts: Counter[SummaryKey]) -> None:
    """Add ``counts`` to the summary rows of their (day, action, project), creating any missing."""
    existing = {
        (summary.day, summary.action, summary.project_id): summary
        for summary in db.session.scalars(
            select(DailySummary).where(
                DailySummary.day.in_({day for day, _, _ in counts}),
                DailySummary.action.in_({action for _, action, _ in counts}),
            )
        )
    }
    for (day, action, project_id), count in counts.items():
        summary = existing.get((day, action, project_id))
        if summary is None:
            db.session.add(DailySummary(day=day, action=action, project_id=project_id, count=count))
        else:
            summary.count += count


def _prune_processed_events(cutoff: datetime, batch_size: int) -> int:
    """Forget consumed event ids as old as the entries (no broker redelivers after months)."""
    pruned = 0
    while True:
        ids = db.session.scalars(
            select(ProcessedEvent.event_id)
            .where(ProcessedEvent.processed_at < cutoff)
            .limit(batch_size)
        ).all()
        if ids:
            db.session.execute(
                delete(ProcessedEvent).where(ProcessedEvent.event_id.in_(ids)),
                execution_options={"synchronize_session": False},
            )
        db.session.commit()
        pruned += len(ids)
        if len(ids) < batch_size:
            return pruned
