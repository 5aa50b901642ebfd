"""The aggregate health's pieces (services/gateway/health.py) and the worker heartbeats
it reads (services/common/worker_heartbeat.py), without the rest of the platform."""

from __future__ import annotations

import socket
import time

import pytest
import redis

from services.common import worker_heartbeat
from services.common.config import ConfigError
from services.gateway import health


@pytest.fixture
def client(backing) -> redis.Redis:
    return redis.Redis.from_url(backing.redis_url)


def test_components_default_to_everything_and_refuse_unknown_names():
    assert health.parse_components("") == health.DEFAULT_COMPONENTS
    assert len([c for c in health.DEFAULT_COMPONENTS if c in health.SERVICES]) == 7
    assert health.parse_components(" user, redis ") == ["user", "redis"]
    with pytest.raises(ConfigError, match="nosuch"):
        health.parse_components("user,nosuch")


def test_postgres_is_judged_from_the_services_database_checks():
    ok = {"status": "ok", "checks": {"database": "ok"}}
    down = {"status": "unavailable", "checks": {"database": "timeout"}}
    assert health.postgres_status({"user": ok})["status"] == "ok"
    assert health.postgres_status({"user": ok, "comment": down}) == {
        "status": "unavailable",
        "failed_for": ["comment"],
    }
    assert health.postgres_status({"user": {"status": "timeout"}})["status"] == "unknown"


def test_a_hanging_service_times_out_within_the_budget(monkeypatch, backing):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # accepts connections, never answers
    monkeypatch.setenv("USER_SERVICE_URL", f"http://127.0.0.1:{listener.getsockname()[1]}")
    try:
        started = time.monotonic()
        results = health.run_checks(["user", "redis"], backing.redis_url)
        elapsed = time.monotonic() - started
    finally:
        listener.close()
    assert elapsed < 2.0
    assert results["user"]["status"] == "timeout"
    assert results["redis"] == {"status": "ok"}


def test_heartbeats_show_live_workers_per_queue(client, backing):
    queue = f"q{time.time_ns()}"
    worker_heartbeat.record_beat(client, [queue], f"{queue}@host-a")
    assert worker_heartbeat.live_workers(client, queue) == [f"{queue}@host-a"]
    assert health.check_worker(backing.redis_url, queue)["workers"] == 1
    assert worker_heartbeat.live_workers(client, queue, max_age=-1) == []
    worker_heartbeat.forget(client, [queue], f"{queue}@host-a")
    assert worker_heartbeat.live_workers(client, queue) == []


def test_worker_healthcheck_command(client, backing, monkeypatch):
    monkeypatch.setenv("REDIS_URL", backing.redis_url)
    queue = f"q{time.time_ns()}"
    assert worker_heartbeat.main(["--queue", queue]) == 1
    worker_heartbeat.record_beat(client, [queue], f"{queue}@{socket.gethostname()}")
    assert worker_heartbeat.main(["--queue", queue]) == 0
    assert worker_heartbeat.main(["--broker"]) == 0
