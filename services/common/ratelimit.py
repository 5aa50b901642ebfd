"""Rate limits with Flask-Limiter on Redis.

- every authenticated caller has one budget across the whole API (``RATELIMIT_USER``),
  keyed by a hash of the bearer token; anonymous callers are keyed by IP;
- the credential endpoints take an extra per-IP limit via :func:`auth_limit`.

Responses carry ``X-RateLimit-*``; a 429 carries ``Retry-After``. If Redis goes away the
limits fall back to per-process memory rather than failing requests.

The strategy is limits' sliding-window counter, with one change: on Redis, the hit also
reads the window back (one script), so a request costs one Redis round trip instead of
two (the hit, then the window again for the headers).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import RateLimitItem
from limits.storage import RedisStorage
from limits.strategies import STRATEGIES, SlidingWindowCounterRateLimiter, WindowStats

from services.common.auth import bearer_token, token_key

STRATEGY = "sliding-window-counter-one-trip"

# limits' acquire_sliding_window.lua followed by its sliding_window.lua: take ``cost``
# from the window if it fits, then answer whether it did and the window as it now is.
ACQUIRE_AND_READ = """
local limit = tonumber(ARGV[1])
local expiry = tonumber(ARGV[2]) * 1000
local amount = tonumber(ARGV[3])

local current_ttl = tonumber(redis.call('pttl', KEYS[2]))
if current_ttl > 0 and current_ttl < expiry then
    redis.call('rename', KEYS[2], KEYS[1])
    redis.call('set', KEYS[2], 0, 'PX', current_ttl + expiry)
end

local function window()
    return tonumber(redis.call('get', KEYS[1])) or 0, math.max(0, redis.call('pttl', KEYS[1])),
           tonumber(redis.call('get', KEYS[2])) or 0, math.max(0, redis.call('pttl', KEYS[2]))
end

local previous_count, previous_ttl, current_count, ttl = window()
local weighted = math.floor(previous_count * previous_ttl / expiry) + current_count
local acquired = 0
if amount <= limit and weighted + amount <= limit then
    if redis.call('exists', KEYS[2]) == 1 then
        redis.call('incrby', KEYS[2], amount)
    else
        redis.call('set', KEYS[2], amount, 'PX', expiry * 2)
    end
    acquired = 1
    previous_count, previous_ttl, current_count, ttl = window()
end
return {acquired, previous_count, previous_ttl, current_count, ttl}
"""
# How long a window read along with a hit answers for the same key (the same request).
WINDOW_READ_FRESH_S = 1.0


class OneTripSlidingWindow(SlidingWindowCounterRateLimiter):
    """The sliding-window counter; on Redis, :meth:`hit` keeps the window it read for
    this thread's next :meth:`get_window_stats` of the same key (Flask-Limiter asks for
    it right after the hit, to write the headers)."""

    def __init__(self, storage: Any) -> None:
        super().__init__(storage)
        self._script = (
            storage.get_connection().register_script(ACQUIRE_AND_READ)
            if isinstance(storage, RedisStorage)
            else None
        )
        self._read = threading.local()

    def hit(self, item: RateLimitItem, *identifiers: str, cost: int = 1) -> bool:
        if self._script is None:
            return super().hit(item, *identifiers, cost=cost)
        key = item.key_for(*identifiers)
        keys = [
            self.storage.prefixed_key(self.storage._previous_window_key(key)),
            self.storage.prefixed_key(self.storage._current_window_key(key)),
        ]
        acquired, *window = self._script(keys, [item.amount, item.get_expiry(), cost])
        previous_count, previous_ttl_ms, current_count, current_ttl_ms = map(int, window)
        self._read.window = (
            key,
            time.monotonic(),
            (previous_count, previous_ttl_ms / 1000, current_count, current_ttl_ms / 1000),
        )
        return bool(acquired)

    def get_window_stats(self, item: RateLimitItem, *identifiers: str) -> WindowStats:
        read = getattr(self._read, "window", None)
        self._read.window = None
        key = item.key_for(*identifiers)
        if read is None or read[0] != key or time.monotonic() - read[1] > WINDOW_READ_FRESH_S:
            return super().get_window_stats(item, *identifiers)
        return self._stats(item, *read[2])

    def _stats(
        self,
        item: RateLimitItem,
        previous_count: int,
        previous_expires_in: float,
        current_count: int,
        current_expires_in: float,
    ) -> WindowStats:
        # As limits' get_window_stats computes it from the same four numbers.
        weighted = self._weighted_count(item, previous_count, previous_expires_in, current_count)
        remaining = max(0, item.amount - int(weighted))
        now = time.time()
        if not (previous_count or current_count):
            return WindowStats(now, remaining)
        expiry = item.get_expiry()
        resets_in = [float("inf")]
        if previous_count:
            resets_in.append(previous_expires_in % (expiry / previous_count))
        if current_count:
            resets_in.append(current_expires_in % expiry)
        return WindowStats(now + min(resets_in), remaining)


STRATEGIES.setdefault(STRATEGY, OneTripSlidingWindow)

EXEMPT_PREFIXES = ("/health", "/metrics", "/internal/", "/api/docs")


def caller_key() -> str:
    """Rate-limit key: the token's hash when authenticated, else the client IP."""
    token = bearer_token()
    return f"token:{token_key(token)[:32]}" if token else f"ip:{get_remote_address()}"


def _exempt() -> bool:
    return request.path.startswith(EXEMPT_PREFIXES)


def make_limiter() -> Limiter:
    """A limiter for one service; bind it with ``limiter.init_app(app)``."""
    limiter = Limiter(
        key_func=caller_key,
        application_limits=[lambda: current_app.config["RATELIMIT_USER"]],
        headers_enabled=True,
        swallow_errors=True,
        in_memory_fallback_enabled=True,
        key_prefix="ratelimit",
        # A fixed window lets a burst straddling the minute boundary through twice.
        strategy=STRATEGY,
    )
    limiter.request_filter(_exempt)
    return limiter


def auth_limit(limiter: Limiter):
    """Per-IP limit for credential endpoints (login, register, password reset)."""
    return limiter.limit(lambda: current_app.config["RATELIMIT_AUTH"], key_func=get_remote_address)


def init_app(app: Flask, limiter: Limiter) -> None:
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    limiter.init_app(app)
