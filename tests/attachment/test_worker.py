"""A real attachment worker (``celery -A services.attachment.worker worker -Q attachment``)
removes a deleted task's files and rows, and sweeps up again a file whose row committed
after that: the event goes through project-task's outbox, Redis and the worker, with
nothing faked."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select, text

from scripts.toolkit.waiting import wait_for
from services.attachment.models import Attachment
from tests.support.worker import celery_worker


@pytest.fixture
def worker(app, user_service, project_task_service, storage_dir, tmp_path):
    """The worker as a subprocess on the test database, Redis and storage directory."""
    with celery_worker(
        "attachment",
        app,
        tmp_path / "worker.log",
        USER_SERVICE_URL=user_service.url,
        PROJECT_TASK_SERVICE_URL=project_task_service.url,
        ATTACHMENT_STORAGE_DIR=str(storage_dir),
        # The follow-up sweep comes this + consumers.SWEEP_MARGIN_SECONDS after a deletion.
        TASK_ACCESS_CACHE_SECONDS="1",
    ) as process:
        yield process


def test_a_file_whose_row_commits_after_the_cleanup_is_swept_up(
    app, backing, team, people, upload, project_task_service, database, stored_files, worker
):
    if not backing.postgres:
        pytest.skip("holds the upload at its commit with a PostgreSQL table lock")
    first = upload(b"before the deletion").json["id"]
    db = app.extensions["sqlalchemy"]
    with app.app_context():
        engine = db.engine

    def attachment_ids() -> set[int]:
        with database() as session:
            return set(session.scalars(select(Attachment.id)))

    def upload_waits_at_its_commit() -> bool:
        with engine.connect() as connection:
            return bool(
                connection.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                        " AND query ILIKE 'INSERT INTO outbox_events%'"
                        " AND datname = current_database()"
                    )
                )
            )

    log = worker.log
    responses = []
    with engine.connect() as lock:
        # The upload passes its uncached access check and inserts its row, then waits
        # for its event's outbox row while the task is deleted and the consumer cleans up.
        lock.execute(text("LOCK TABLE outbox_events IN EXCLUSIVE MODE"))
        uploading = threading.Thread(target=lambda: responses.append(upload(b"late", "late.txt")))
        uploading.start()
        assert wait_for(upload_waits_at_its_commit, timeout=10)
        project_task_service.delete_task(team.task, by=people.owner)
        cleaned_up = wait_for(lambda: first not in attachment_ids(), timeout=30)
        lock.rollback()
    uploading.join(10)
    assert cleaned_up, "not cleaned up; worker log:\n" + log.read_text()

    [late] = responses
    assert late.status_code == 201, late.json
    assert attachment_ids() == {late.json["id"]}
    assert [path.read_bytes() for path in stored_files()] == [b"late"]
    gone = wait_for(lambda: not attachment_ids() and not stored_files(), timeout=45)
    assert gone, "late file left; worker log:\n" + log.read_text()
