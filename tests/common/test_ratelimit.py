"""The per-caller rate limit on real Redis: headers that count down, a 429 with
Retry-After at the limit, and one Redis round trip per request; the limiter is limits' own
strategy on a storage registered the documented way, so a limits upgrade that changes
that interface fails here rather than in production."""

from __future__ import annotations

import inspect
import time
import uuid

import pytest
import redis
from flask import Flask
from flask_limiter import Limiter
from limits import parse
from limits.storage import MemoryStorage, SlidingWindowCounterSupport, storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter

from scripts.stack import embedded_redis_command
from scripts.toolkit.processes import Process, free_port
from services.common import init_service, ratelimit
from services.common.config import BaseConfig

LIMIT = 5


class _Config(BaseConfig):
    SERVICE_NAME = "sample"


def _service(storage_uri: str) -> Flask:
    """A service whose API allows LIMIT requests a minute per caller."""
    app = Flask(__name__)
    app.config.from_object(_Config())
    app.config.update(
        RATELIMIT_USER=f"{LIMIT}/minute",
        RATELIMIT_STORAGE_URI=storage_uri,
    )
    init_service(app)
    limiter = ratelimit.make_limiter()
    ratelimit.init_app(app, limiter)
    app.add_url_rule("/api/ping", "ping", lambda: {"ok": True})
    return app


@pytest.fixture
def limited(tmp_path, monkeypatch, backing):
    """A service whose API allows LIMIT requests a minute per caller, on the test Redis."""
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    return _service(backing.redis_url)


def _limiter(app: Flask) -> Limiter:
    (limiter,) = app.extensions["limiter"]
    return limiter


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


@pytest.fixture
def private_redis(tmp_path):
    """A Redis server of this test's own, so its command counts are this test's alone."""
    port = free_port()
    server = Process(
        "redis",
        embedded_redis_command(port, tmp_path / "redis", persist=False),
        None,
        tmp_path / "redis.log",
        port,
    )
    server.start(wait_path=None)
    yield f"redis://127.0.0.1:{port}/0"
    server.stop()


def test_one_redis_round_trip_per_request(private_redis, tmp_path, monkeypatch):
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    client = _service(private_redis).test_client()
    client.environ_base.update(_caller())
    client.get("/api/ping")  # the script is loaded once per process
    server = redis.Redis.from_url(private_redis)
    before = _evalsha_calls(server)
    for _ in range(4):
        assert client.get("/api/ping").status_code == 200
    assert _evalsha_calls(server) - before == 4


def _library_remaining(redis_url: str, caller: dict) -> int:
    library = SlidingWindowCounterRateLimiter(storage_from_string(redis_url))
    return library.get_window_stats(
        parse(f"{LIMIT}/minute"), "ratelimit", f"ip:{caller['REMOTE_ADDR']}", "global"
    ).remaining


def test_a_window_read_without_a_hit_agrees_with_the_library(limited, backing):
    client = limited.test_client()
    caller = _caller()
    client.environ_base.update(caller)
    for _ in range(2):
        client.get("/api/ping")
    limiter = _limiter(limited)
    ours = limiter.limiter.get_window_stats(
        parse(f"{LIMIT}/minute"), "ratelimit", f"ip:{caller['REMOTE_ADDR']}", "global"
    )
    assert ours.remaining == _library_remaining(backing.redis_url, caller) == LIMIT - 2


def test_clearing_a_limit_clears_the_window_the_library_reads(limited, backing):
    client = limited.test_client()
    caller = _caller()
    client.environ_base.update(caller)
    for _ in range(LIMIT + 1):
        client.get("/api/ping")
    _limiter(limited).limiter.clear(
        parse(f"{LIMIT}/minute"), "ratelimit", f"ip:{caller['REMOTE_ADDR']}", "global"
    )
    assert _library_remaining(backing.redis_url, caller) == LIMIT
    assert client.get("/api/ping").headers["X-RateLimit-Remaining"] == str(LIMIT - 1)


def test_the_limiter_is_limits_own_strategy_on_the_registered_storage(limited, backing):
    limiter = _limiter(limited)
    assert type(limiter.limiter) is SlidingWindowCounterRateLimiter
    assert type(limiter.storage) is ratelimit.OneTripRedisStorage
    registered = storage_from_string(ratelimit.ONE_TRIP_SCHEME + backing.redis_url)
    assert type(registered) is ratelimit.OneTripRedisStorage


def test_the_storage_implements_the_sliding_window_interface_limits_declares():
    """Upstream changing a method's name or signature fails here; at run time it would
    only show as Flask-Limiter silently falling back to per-process memory."""
    declared = SlidingWindowCounterSupport.__abstractmethods__
    assert declared == {
        "acquire_sliding_window_entry",
        "get_sliding_window",
        "clear_sliding_window",
    }
    for name in declared:
        ours = inspect.signature(getattr(ratelimit.OneTripRedisStorage, name))
        assert ours == inspect.signature(getattr(SlidingWindowCounterSupport, name)), name


def test_a_non_redis_storage_is_limits_own(tmp_path, monkeypatch):
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    app = _service("memory://")
    assert type(_limiter(app).storage) is MemoryStorage
    client = app.test_client()
    client.environ_base.update(_caller())
    responses = [client.get("/api/ping") for _ in range(LIMIT + 1)]
    assert [r.status_code for r in responses] == [200] * LIMIT + [429]
