"""The transactional outbox and its relay (docs/events.md), on the user service's database."""

from __future__ import annotations

import base64
import json
import time

import redis
from celery import Celery
from sqlalchemy import func, select

from services.common.celery_app import celery_settings
from services.common.events import record_event
from services.user.extensions import db
from services.user.models import OutboxEvent


def queued_event_ids(redis_url: str, queue: str) -> list[str]:
    """Event ids of the Celery messages waiting in ``queue``."""
    client = redis.Redis.from_url(redis_url)
    ids = []
    for raw in client.lrange(queue, 0, -1):
        message = json.loads(raw)
        body = json.loads(base64.b64decode(message["body"]))
        ids.append(body[0][0]["event_id"])
    return ids


def wait_until(condition, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_committed_event_is_relayed_to_its_consumers(client, app, database):
    response = client.post(
        "/api/register",
        json={"username": "olive", "email": "o@example.com", "password": "long enough"},
    )
    assert response.status_code == 201
    with database() as session:
        event_id = session.scalar(select(OutboxEvent.event_id))

    def published() -> bool:
        with database() as session:
            return session.scalar(select(OutboxEvent.published_at)) is not None

    assert wait_until(published)
    assert event_id in queued_event_ids(app.config["REDIS_URL"], "activity")
    assert event_id not in queued_event_ids(app.config["REDIS_URL"], "comment")


def test_rolled_back_change_leaves_no_event(app, database):
    with app.app_context():
        envelope = record_event("user.updated", actor=None, entity=("user", 1))
        db.session.flush()
        db.session.rollback()
    with database() as session:
        assert session.scalar(select(func.count()).select_from(OutboxEvent)) == 0
    time.sleep(0.5)
    assert envelope["event_id"] not in queued_event_ids(app.config["REDIS_URL"], "activity")


def test_events_written_while_the_broker_is_down_are_swept_later(app, database):
    working = app.extensions["celery"]
    down = Celery("broker-down")
    down.config_from_object(celery_settings("redis://127.0.0.1:1/0"))  # nothing listens there
    app.extensions["celery"] = down
    try:
        with app.app_context():
            record_event("user.updated", actor=None, entity=("user", 1))
            db.session.commit()
        time.sleep(0.5)
        with database() as session:
            row = session.scalar(select(OutboxEvent))
            assert row.published_at is None
    finally:
        app.extensions["celery"] = working
    time.sleep(2.1)  # past the sweep's grace period
    with app.app_context():
        # The relay thread's own periodic sweep may get there first; either way only a
        # sweep can publish it now, since the after-commit attempt failed.
        app.extensions["outbox_relay"].sweep()

    def published() -> OutboxEvent | None:
        with database() as session:
            return session.scalar(select(OutboxEvent).where(OutboxEvent.published_at.is_not(None)))

    assert wait_until(published)
    assert published().event_id in queued_event_ids(app.config["REDIS_URL"], "activity")


def test_reset_token_is_relayed_then_scrubbed_from_the_outbox(client, auth, app, database):
    account = auth.account()
    assert client.post("/api/password/forgot", json={"email": account.email}).status_code == 202

    def reset_row() -> OutboxEvent | None:
        with database() as session:
            query = select(OutboxEvent).where(OutboxEvent.type == "user.password_reset_requested")
            return session.scalar(query.where(OutboxEvent.published_at.is_not(None)))

    assert wait_until(reset_row)
    assert reset_row().payload["data"]["reset_token"] == "[redacted]"
    client_redis = redis.Redis.from_url(app.config["REDIS_URL"])
    [raw] = [m for m in client_redis.lrange("notification", 0, -1)]
    message = json.loads(raw)
    envelope = json.loads(base64.b64decode(message["body"]))[0][0]
    assert envelope["data"]["reset_token"] not in ("", "[redacted]")
    assert (
        envelope["event_id"] not in message["headers"]["argsrepr"]
        or "reset_token" not in message["headers"]["argsrepr"]
    )


def test_an_event_a_request_caused_carries_the_callers_address_and_user_agent(client, outbox):
    response = client.post(
        "/api/register",
        json={"username": "uma", "email": "uma@example.com", "password": "long enough"},
        headers={"User-Agent": "Probe/2.0 (audit)"},
    )
    assert response.status_code == 201

    [event] = outbox("user.registered")
    assert event["meta"] == {"ip": "127.0.0.1", "user_agent": "Probe/2.0 (audit)"}


def test_an_address_that_is_no_ip_is_recorded_as_unknown(client, outbox):
    response = client.post(
        "/api/register",
        json={"username": "ursa", "email": "ursa@example.com", "password": "long enough"},
        environ_base={"REMOTE_ADDR": "fe80::1%" + "x" * 60},
    )
    assert response.status_code == 201

    [event] = outbox("user.registered")
    assert event["meta"]["ip"] is None


def test_an_event_outside_a_request_has_no_who_from(app):
    with app.app_context():
        envelope = record_event("user.updated", actor=None, entity=("user", 1))
        db.session.rollback()
    assert envelope["meta"] is None
