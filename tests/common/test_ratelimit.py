"""The per-caller rate limit on real Redis: headers that count down, a 429 with
Retry-After at the limit, and one Redis round trip per request."""

from __future__ import annotations

import time
import uuid

import pytest
import redis
from flask import Flask
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter

from services.common import init_service, ratelimit
from services.common.config import BaseConfig

LIMIT = 5


class _Config(BaseConfig):
    SERVICE_NAME = "sample"


@pytest.fixture
def limited(tmp_path, monkeypatch, backing):
    """A service whose API allows LIMIT requests a minute per caller, on the test Redis."""
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    app = Flask(__name__)
    app.config.from_object(_Config())
    app.config.update(
        RATELIMIT_USER=f"{LIMIT}/minute",
        RATELIMIT_STORAGE_URI=backing.redis_url,
    )
    init_service(app)
    limiter = ratelimit.make_limiter()
    ratelimit.init_app(app, limiter)
    app.add_url_rule("/api/ping", "ping", lambda: {"ok": True})
    return app


def _caller():
    """A test client for a caller (an IP address) no other test has used."""
    return {"REMOTE_ADDR": f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.7"}


def _evalsha_calls(client: redis.Redis) -> int:
    return client.info("commandstats").get("cmdstat_evalsha", {}).get("calls", 0)


def test_headers_count_down_then_429_with_retry_after(limited):
    client = limited.test_client()
    client.environ_base.update(_caller())
    started = time.time()
    responses = [client.get("/api/ping") for _ in range(LIMIT + 1)]
    assert [r.status_code for r in responses] == [200] * LIMIT + [429]
    assert [r.headers["X-RateLimit-Remaining"] for r in responses] == [
        str(n) for n in [*range(LIMIT - 1, -1, -1), 0]
    ]
    assert {r.headers["X-RateLimit-Limit"] for r in responses} == {str(LIMIT)}
    for response in responses:
        assert started < int(response.headers["X-RateLimit-Reset"]) <= started + 61
    assert "Retry-After" not in responses[0].headers
    assert 0 < int(responses[-1].headers["Retry-After"]) <= 60
    assert responses[-1].get_json()["code"] == "rate_limited"


def test_the_headers_agree_with_the_library_reading_the_same_window(limited, backing):
    client = limited.test_client()
    caller = _caller()
    client.environ_base.update(caller)
    for _ in range(3):
        response = client.get("/api/ping")
    library = SlidingWindowCounterRateLimiter(storage_from_string(backing.redis_url))
    reset, remaining = library.get_window_stats(
        parse(f"{LIMIT}/minute"), "ratelimit", f"ip:{caller['REMOTE_ADDR']}", "global"
    )
    assert response.headers["X-RateLimit-Remaining"] == str(remaining) == str(LIMIT - 3)
    assert abs(int(response.headers["X-RateLimit-Reset"]) - int(reset + 1)) <= 1


def test_one_redis_round_trip_per_request(limited, backing):
    client = limited.test_client()
    client.environ_base.update(_caller())
    client.get("/api/ping")  # the script is loaded once per process
    server = redis.Redis.from_url(backing.redis_url)
    before = _evalsha_calls(server)
    for _ in range(4):
        assert client.get("/api/ping").status_code == 200
    assert _evalsha_calls(server) - before == 4
