"""Fixtures every service's tests share (a pytest plugin loaded by tests/conftest.py).

Each service's conftest provides ``app`` (the service on its test database, with no app
context held during a test); these build on it."""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import pytest
import redis
from flask import g
from sqlalchemy import func, select

from services.common.events import build_envelope


@pytest.fixture
def live_redis(backing) -> redis.Redis:
    """The suite's Redis without the live-update keys (``live:*``) earlier tests left."""
    client = redis.Redis.from_url(backing.redis_url)
    for key in client.scan_iter("live:*"):
        client.delete(key)
    return client


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def database(app):
    """``with database() as session:`` reads or changes rows outside any request."""
    db = app.extensions["sqlalchemy"]

    @contextmanager
    def session():
        with app.app_context():
            yield db.session
            db.session.remove()

    return session


@pytest.fixture
def outbox(app, database):
    """``outbox(type=None)``: the payloads of the service's outbox rows (of one type),
    oldest first."""
    model = app.extensions["outbox"].model

    def payloads(event_type: str | None = None) -> list[dict]:
        query = select(model).order_by(model.id)
        if event_type:
            query = query.where(model.type == event_type)
        with database() as session:
            return [row.payload for row in session.scalars(query)]

    return payloads


@pytest.fixture
def count_rows(database):
    """``count_rows(Model)``: how many rows the table holds."""

    def count(model) -> int:
        with database() as session:
            return session.scalar(select(func.count()).select_from(model))

    return count


@pytest.fixture
def envelope(app):
    """``envelope("task.deleted", actor=..., entity=("task", 1), ...)``: a real envelope
    built by ``services.common.events`` inside a request, optionally re-dated or with a
    chosen request id."""

    def build(
        event_type: str,
        *,
        actor: Any,
        entity: tuple[str, int],
        occurred_at: datetime | None = None,
        request_id: str | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        with app.test_request_context():
            g.request_id = request_id or uuid.uuid4().hex
            built = build_envelope(event_type, actor=actor, entity=entity, **fields)
        if occurred_at is not None:
            built["occurred_at"] = occurred_at.isoformat()
        return built

    return build
