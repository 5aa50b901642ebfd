"""The consumer job: every event becomes one entry, once, with nothing secret in it; a job
that gives up is recorded."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from services.activity_log import jobs
from services.activity_log.models import Activity, FailedJob, ProcessedEvent


def rows(database, model) -> list:
    with database() as session:
        found = list(session.scalars(select(model)))
        session.expunge_all()
        return found


def test_consuming_an_event_stores_one_entry(consume, envelope, database, people):
    event = envelope(
        "task.updated",
        actor=people.member,
        entity=("task", 7),
        project_id=3,
        data={"title": "Write the report"},
        changes={"status": ["todo", "done"]},
        request_id="req-12345678",
    )
    consume(event)

    [entry] = rows(database, Activity)
    assert entry.event_id == event["event_id"]
    assert entry.action == "task.updated"
    assert (entry.actor_id, entry.actor_username) == (people.member.id, people.member.username)
    assert (entry.entity_type, entry.entity_id, entry.project_id) == ("task", 7, 3)
    assert entry.changes == {"status": ["todo", "done"]}
    assert entry.data == {"title": "Write the report"}
    assert entry.request_id == "req-12345678"
    assert entry.occurred_at.isoformat() == event["occurred_at"]
    assert (entry.ip, entry.user_agent) == (None, None)


def test_the_same_event_twice_is_stored_once(consume, envelope, database, people):
    event = envelope("project.created", actor=people.admin, entity=("project", 1), project_id=1)
    consume(event, event)

    assert len(rows(database, Activity)) == 1
    assert [p.event_id for p in rows(database, ProcessedEvent)] == [event["event_id"]]


def test_reset_token_and_passwords_are_never_stored(consume, envelope, database, people):
    reset = envelope(
        "user.password_reset_requested",
        actor=people.stranger,
        entity=("user", people.stranger.id),
        data={"email": "s@example.com", "reset_token": "s3cr3t-reset-value", "expires_in": 3600},
    )
    changed = envelope(
        "user.updated",
        actor=people.stranger,
        entity=("user", people.stranger.id),
        data={"nested": [{"Password": "hunter2hunter2"}], "refresh_token": "rt-value"},
        changes={"password": ["old-hash", "new-hash"], "email": ["a@x.org", "b@x.org"]},
    )
    consume(reset, changed)

    stored = {entry.action: entry for entry in rows(database, Activity)}
    assert stored["user.password_reset_requested"].data == {
        "email": "s@example.com",
        "reset_token": "[redacted]",
        "expires_in": 3600,
    }
    assert stored["user.updated"].data == {
        "nested": [{"Password": "[redacted]"}],
        "refresh_token": "[redacted]",
    }
    assert stored["user.updated"].changes == {
        "password": ["[redacted]", "[redacted]"],
        "email": ["a@x.org", "b@x.org"],
    }
    everything = json.dumps([(e.data, e.changes) for e in stored.values()])
    for secret in ("s3cr3t-reset-value", "hunter2hunter2", "rt-value", "old-hash", "new-hash"):
        assert secret not in everything


def test_client_ip_and_user_agent_are_kept_from_the_envelopes_meta(
    consume, envelope, database, people
):
    event = envelope("user.login", actor=people.member, entity=("user", people.member.id))
    consume({**event, "meta": {"ip": "203.0.113.9", "user_agent": "curl/8.5 " + "x" * 900}})

    [entry] = rows(database, Activity)
    assert entry.ip == "203.0.113.9"
    assert entry.user_agent.startswith("curl/8.5 ") and len(entry.user_agent) == 512


def test_who_from_is_never_taken_from_event_data_and_a_bad_meta_is_unknown(
    consume, envelope, database, people
):
    spoofed = envelope(
        "task.updated",
        actor=people.member,
        entity=("task", 1),
        project_id=1,
        data={"meta": {"ip": "203.0.113.9", "user_agent": "written by a client"}},
    )
    consume({**spoofed, "meta": None})
    broken = envelope("task.updated", actor=people.member, entity=("task", 2), project_id=1)
    consume({**broken, "meta": {"ip": "not an address", "user_agent": "x"}})

    entries = rows(database, Activity)
    assert len(entries) == 2
    # Nothing from data; an address that is no IP is unknown, the rest is kept.
    assert {(entry.ip, entry.user_agent) for entry in entries} == {(None, None), (None, "x")}


def test_a_message_that_is_no_envelope_fails_at_once_and_is_recorded(app, database):
    task = app.extensions["celery"].tasks["activity_log.consume_event"]
    message = {"type": "task.created", "entity": {"type": "task", "id": 1}}  # no event_id

    result = task.apply(args=[message])

    assert result.failed()
    [failed] = rows(database, FailedJob)
    assert failed.task_name == "activity_log.consume_event"
    assert failed.args == [message]
    assert "InvalidEnvelope" in failed.error and "event_id" in failed.error
    assert rows(database, Activity) == []


def test_a_job_out_of_retries_is_recorded_and_stores_nothing(
    app, database, envelope, people, monkeypatch
):
    def broken(event):
        raise RuntimeError("database went away")

    monkeypatch.setattr(jobs, "record_activity", broken)
    task = app.extensions["celery"].tasks["activity_log.consume_event"]
    event = envelope("task.created", actor=people.member, entity=("task", 1), project_id=1)

    result = task.apply(args=[event], retries=task.max_retries)  # the last attempt

    assert result.failed()
    [failed] = rows(database, FailedJob)
    assert failed.args == [event]
    assert "database went away" in failed.error
    with database() as session:
        assert session.scalar(select(func.count()).select_from(ProcessedEvent)) == 0
        assert session.scalar(select(func.count()).select_from(Activity)) == 0
