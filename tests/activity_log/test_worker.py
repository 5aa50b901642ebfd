"""A real activity worker (``celery -A services.activity_log.worker worker -Q activity``)
consumes events from Redis into the database, and records a job it gives up on."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from scripts.toolkit.waiting import wait_for
from services.activity_log.models import Activity, FailedJob
from tests.support.worker import celery_worker


@pytest.fixture
def worker(app, user_service, project_task, tmp_path):
    """The worker as a subprocess on the test database and Redis; stopped afterwards."""
    with celery_worker(
        "activity-log",
        app,
        tmp_path / "worker.log",
        USER_SERVICE_URL=user_service.url,
        PROJECT_TASK_SERVICE_URL=project_task.url,
    ) as process:
        yield process


def test_a_real_worker_consumes_events_and_records_rejected_ones(
    app, database, worker, envelope, people
):
    celery = app.extensions["celery"]
    event = envelope("task.created", actor=people.member, entity=("task", 3), project_id=4)
    rejected = {"type": "task.created", "event_id": "not-a-uuid"}

    celery.send_task("activity_log.consume_event", args=[event], queue="activity")
    celery.send_task("activity_log.consume_event", args=[rejected], queue="activity")

    def stored() -> Activity | None:
        with database() as session:
            found = session.scalar(select(Activity).where(Activity.event_id == event["event_id"]))
            session.expunge_all()
            return found

    def failed() -> FailedJob | None:
        with database() as session:
            found = session.scalar(select(FailedJob))
            session.expunge_all()
            return found

    entry = wait_for(stored, timeout=30)
    assert entry is not None, "no entry; worker log:\n" + worker.log.read_text()
    assert (entry.action, entry.actor_id, entry.project_id) == ("task.created", people.member.id, 4)
    job = wait_for(failed, timeout=30)
    assert job is not None, "no failed job; worker log:\n" + worker.log.read_text()
    assert job.task_name == "activity_log.consume_event"
    assert job.args == [rejected]
    assert worker.poll() is None
