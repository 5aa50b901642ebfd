"""Retention: entries older than LOG_RETENTION_DAYS are counted into the daily summaries,
then deleted, a batch per transaction; nothing younger is touched."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from services.activity_log import retention
from services.activity_log.extensions import db
from services.activity_log.models import Activity, DailySummary, ProcessedEvent

NOW = datetime(2026, 6, 30, 3, 15, tzinfo=UTC)
CUTOFF = NOW - timedelta(days=90)  # 2026-04-01 03:15


@pytest.fixture
def small_batches(app):
    app.config["LOG_RETENTION_BATCH_SIZE"] = 2
    yield
    app.config["LOG_RETENTION_BATCH_SIZE"] = 1000


@pytest.fixture
def aged(consume, envelope, people):
    """Five entries past the limit (on two days, two actions, two projects) and two not."""

    def make(action, project_id, occurred_at):
        return envelope(
            action,
            actor=people.member,
            entity=("task", 1),
            project_id=project_id,
            occurred_at=occurred_at,
        )

    old = [
        make("task.created", 1, datetime(2026, 3, 30, 9, tzinfo=UTC)),
        make("task.created", 1, datetime(2026, 3, 30, 23, 59, tzinfo=UTC)),
        make("task.created", None, datetime(2026, 3, 30, 10, tzinfo=UTC)),
        make("task.updated", 1, datetime(2026, 3, 30, 11, tzinfo=UTC)),
        make("task.created", 2, CUTOFF - timedelta(seconds=1)),
    ]
    young = [
        make("task.created", 2, CUTOFF),
        make("task.updated", 1, NOW - timedelta(days=1)),
    ]
    consume(*old, *young)
    return {"old": old, "young": young}


def summaries(database) -> dict[tuple[date, str, int | None], int]:
    with database() as session:
        return {
            (s.day, s.action, s.project_id): s.count for s in session.scalars(select(DailySummary))
        }


def remaining(database) -> set[str]:
    with database() as session:
        return set(session.scalars(select(Activity.event_id)))


def run(app, now=NOW):
    with app.app_context():
        try:
            return retention.purge_expired(now)
        finally:
            db.session.remove()


def test_only_entries_older_than_the_limit_are_deleted_after_being_summarised(
    app, database, aged, small_batches
):
    result = run(app)

    assert (result.deleted, result.batches) == (5, 3)
    assert remaining(database) == {e["event_id"] for e in aged["young"]}
    assert summaries(database) == {
        (date(2026, 3, 30), "task.created", 1): 2,
        (date(2026, 3, 30), "task.created", None): 1,
        (date(2026, 3, 30), "task.updated", 1): 1,
        (date(2026, 4, 1), "task.created", 2): 1,
    }


def test_a_later_run_adds_to_the_summaries_of_the_same_day(
    app, database, aged, consume, envelope, people
):
    run(app)
    consume(
        envelope(
            "task.created",
            actor=people.member,
            entity=("task", 1),
            project_id=1,
            occurred_at=datetime(2026, 3, 30, 8, tzinfo=UTC),
        )
    )  # arrived late

    result = run(app, NOW + timedelta(days=1))

    assert result.deleted == 2  # the late one, and the one exactly at yesterday's cutoff
    assert summaries(database)[(date(2026, 3, 30), "task.created", 1)] == 3
    assert summaries(database)[(date(2026, 4, 1), "task.created", 2)] == 2


def test_a_failing_batch_leaves_its_entries_and_counts_untouched(
    app, database, aged, small_batches, monkeypatch
):
    merge = retention._merge_into_summaries
    calls = []

    def merge_then_fail_second_batch(counts):
        calls.append(counts)
        merge(counts)
        if len(calls) == 2:
            raise RuntimeError("connection lost")

    monkeypatch.setattr(retention, "_merge_into_summaries", merge_then_fail_second_batch)

    with pytest.raises(RuntimeError):
        run(app)

    # The first batch went out with its summary; the second neither counted nor deleted.
    assert len(remaining(database)) == 7 - 2
    assert sum(summaries(database).values()) == 2


def test_processed_event_ids_older_than_the_limit_are_forgotten(app, database, aged):
    with database() as session:
        session.execute(
            ProcessedEvent.__table__.update()
            .where(ProcessedEvent.event_id == aged["old"][0]["event_id"])
            .values(processed_at=CUTOFF - timedelta(days=1))
        )
        session.commit()

    result = run(app)

    assert result.processed_events_pruned == 1
    with database() as session:
        assert session.scalar(select(func.count()).select_from(ProcessedEvent)) == 6


def test_the_retention_job_runs_with_the_configured_limit(app, database, consume, envelope, people):
    consume(
        envelope(
            "task.created",
            actor=people.member,
            entity=("task", 1),
            occurred_at=datetime.now(UTC) - timedelta(days=91),
        ),
        envelope("task.created", actor=people.member, entity=("task", 2)),
    )
    task = app.extensions["celery"].tasks["activity_log.apply_retention"]

    result = task.apply()

    assert result.successful(), result.traceback
    assert result.result["deleted"] == 1
    assert len(remaining(database)) == 1
    assert sum(summaries(database).values()) == 1
