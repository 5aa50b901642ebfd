"""The consumer job: a deleted task or project takes its files and rows with it, once
per event; a message that is no envelope is recorded as a failed job. The orphan sweep
removes old stored files that no attachment refers to."""

from __future__ import annotations

import io
import os
import time

from sqlalchemy import select

from services.attachment import orphans
from services.attachment.models import Attachment, FailedJob, ProcessedEvent
from services.attachment.storage import storage


def attachment_ids(database) -> set[int]:
    with database() as session:
        return set(session.scalars(select(Attachment.id)))


def test_task_deleted_removes_that_tasks_files_and_rows(
    team, people, upload, project_task_service, envelope, consume, database, stored_files
):
    upload(b"one", "1.txt")
    upload(b"two", "2.txt", by=people.admin)
    other_task = project_task_service.task(team.project, by=people.owner)
    kept = upload(b"stays", "3.txt", task=other_task).json["id"]
    assert len(stored_files()) == 3
    event = envelope(
        "task.deleted",
        actor=people.owner,
        entity=("task", team.task["id"]),
        project_id=team.project["id"],
        data={"task": team.task},
    )

    consume(event, event)

    assert attachment_ids(database) == {kept}
    [left] = stored_files()
    assert left.read_bytes() == b"stays"
    with database() as session:
        assert list(session.scalars(select(ProcessedEvent.event_id))) == [event["event_id"]]


def test_project_deleted_removes_every_file_of_the_project(
    team, people, upload, project_task_service, envelope, consume, database, stored_files
):
    upload(b"one")
    second_task = project_task_service.task(team.project, by=people.owner)
    upload(b"two", task=second_task)
    elsewhere = project_task_service.project(people.member)
    elsewhere_task = project_task_service.task(elsewhere, by=people.member)
    kept = upload(b"other project", task=elsewhere_task).json["id"]

    consume(
        envelope(
            "project.deleted",
            actor=people.owner,
            entity=("project", team.project["id"]),
            project_id=team.project["id"],
        )
    )

    assert attachment_ids(database) == {kept}
    assert [path.read_bytes() for path in stored_files()] == [b"other project"]


def test_a_message_that_is_no_envelope_fails_at_once_and_is_recorded(app, database):
    task = app.extensions["celery"].tasks["attachment.consume_event"]
    message = {"type": "project.deleted", "event_id": "nope", "entity": {"type": "project"}}

    result = task.apply(args=[message])

    assert result.failed()
    with database() as session:
        [failed] = session.scalars(select(FailedJob)).all()
        assert failed.task_name == "attachment.consume_event" and failed.args == [message]


def test_the_orphan_sweep_removes_old_files_without_a_row_only(
    app, upload, stored_files, storage_dir, monkeypatch
):
    monkeypatch.setattr(orphans, "BATCH_SIZE", 2)
    for content in (b"row one", b"row two", b"row three"):
        assert upload(content).status_code == 201
    with app.app_context():
        # Files whose rows never committed (a process died between the two).
        for content in (b"old orphan 1", b"old orphan 2"):
            storage().save(io.BytesIO(content), 100)
        young = storage().save(io.BytesIO(b"young orphan"), 100)
    two_hours_ago, fifty_minutes_ago = time.time() - 2 * 3600, time.time() - 50 * 60
    for path in stored_files():
        written = fifty_minutes_ago if path.name == young.key else two_hours_ago
        os.utime(path, (written, written))
    # Writes a dead process left unfinished: one long ago, one as young as an upload.
    for name, written in (("a" * 32, two_hours_ago), ("b" * 32, fifty_minutes_ago)):
        partial = storage_dir / name[:2] / f"{name}.part"
        partial.parent.mkdir(exist_ok=True)
        partial.write_bytes(b"half a file")
        os.utime(partial, (written, written))

    result = app.extensions["celery"].tasks["attachment.sweep_orphan_files"].apply()

    assert result.successful(), result.traceback
    assert result.result == 3  # two orphans, one partial write
    assert [p.name for p in storage_dir.rglob("*.part")] == [f"{'b' * 32}.part"]
    assert sorted(p.read_bytes() for p in stored_files() if p.suffix != ".part") == [
        b"row one",
        b"row three",
        b"row two",
        b"young orphan",
    ]
