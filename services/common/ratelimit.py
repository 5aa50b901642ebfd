"""Rate limits with Flask-Limiter on Redis.

- every authenticated caller has one budget across the whole API (``RATELIMIT_USER``),
  keyed by a hash of the bearer token once this process knows the token to be good
  (:func:`services.common.auth.recognised_token`); anonymous callers, and tokens not
  verified yet, are keyed by the client's address, so a made-up token earns no budget;
- a client address whose tokens keep being refused (``RATELIMIT_REJECTED_TOKENS``) gets
  429 before any more of its unknown tokens are checked (:class:`RejectedTokens`);
- the credential endpoints take an extra per-IP limit via :func:`auth_limit`, and an
  endpoint may take one counted by its own key via :func:`keyed_limit` (the attachment
  service's share links: ``SHARE_LINK_RATE_LIMIT`` per link).

The client's address is the one the platform's proxy saw (services.common.proxies).

Responses carry ``X-RateLimit-*``; a 429 carries ``Retry-After``. If Redis goes away the
limits fall back to per-process memory rather than failing requests.

The strategy is limits' own sliding-window counter (a fixed window lets a burst straddling
the minute boundary through twice). A request costs one Redis round trip: Flask-Limiter
takes the hit, then reads the window again for the headers, and on the stock Redis storage
those are two scripts. :class:`OneTripRedisStorage` is a limits storage backend plugged in
the way limits documents for custom backends: a ``RedisStorage`` subclass whose
``STORAGE_SCHEME`` registers it for ``storage_from_string`` (which Flask-Limiter calls with
``RATELIMIT_STORAGE_URI``; :func:`init_app` puts the scheme in front of a Redis URI). It
implements the public sliding-window interface (``SlidingWindowCounterSupport``) with its
own script that takes the hit and answers the window as it now is; the thread's next read
of that window, the headers right after, is served from that answer. Nothing here calls a
private method of limits or touches its strategy registry (the storage registry gains a new
scheme, the documented way; the stock schemes stay limits' own), so a ``limits`` upgrade
that changes its internals cannot break the limiter unnoticed: the windows keep the stock
key layout, and tests/common/test_ratelimit.py checks that the stock library reads the same
window and that the interface implemented here is still the one limits declares.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app, g, has_request_context, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import parse
from limits.storage import RedisStorage

from services.common.auth import recognised_token, token_key
from services.common.errors import abort

log = logging.getLogger(__name__)

STRATEGY = "sliding-window-counter"
# Put in front of a Redis URI (redis://, rediss://, redis+unix://, ...) it selects
# OneTripRedisStorage.
ONE_TRIP_SCHEME = "onetrip+"

# The window shift both scripts start with, and how they read the window: the previous
# and the current counters with their TTLs (ms, 0 when the key is absent). Time is in
# milliseconds, the expiry (ARGV[1]) in seconds.
_SHIFT = """
local expiry = tonumber(ARGV[1]) * 1000
local current_ttl = tonumber(redis.call('pttl', KEYS[2]))
if current_ttl > 0 and current_ttl < expiry then
    -- the current window is over: it becomes the previous one
    redis.call('rename', KEYS[2], KEYS[1])
    redis.call('set', KEYS[2], 0, 'PX', current_ttl + expiry)
end
local function window()
    return {tonumber(redis.call('get', KEYS[1])) or 0, math.max(0, redis.call('pttl', KEYS[1])),
            tonumber(redis.call('get', KEYS[2])) or 0, math.max(0, redis.call('pttl', KEYS[2]))}
end
"""
READ_WINDOW = _SHIFT + "return window()\n"
# Take ``amount`` (ARGV[3]) if the weighted count leaves room under ``limit`` (ARGV[2]),
# then answer {taken (1 or 0), the window as it now is}.
ACQUIRE_AND_READ = (
    _SHIFT
    + """
local limit = tonumber(ARGV[2])
local amount = tonumber(ARGV[3])
local w = window()
if amount > limit or math.floor(w[1] * w[2] / expiry) + w[3] + amount > limit then
    return {0, w[1], w[2], w[3], w[4]}
end
if redis.call('exists', KEYS[2]) == 1 then
    redis.call('incrby', KEYS[2], amount)
else
    redis.call('set', KEYS[2], amount, 'PX', expiry * 2)
end
w = window()
return {1, w[1], w[2], w[3], w[4]}
"""
)
# How long a window read along with a hit answers for the same key (the same request).
WINDOW_READ_FRESH_S = 1.0

Window = tuple[int, float, int, float]


def _window(answer: list[Any]) -> Window:
    previous_count, previous_ttl_ms, current_count, current_ttl_ms = map(int, answer)
    return previous_count, previous_ttl_ms / 1000, current_count, current_ttl_ms / 1000


class OneTripRedisStorage(RedisStorage):
    """Redis storage whose sliding-window hit also answers the window it leaves, kept for
    the same request's next :meth:`get_sliding_window` of the same key (Flask-Limiter asks
    for it right after the hit, to write the headers)."""

    STORAGE_SCHEME = [ONE_TRIP_SCHEME + scheme for scheme in RedisStorage.STORAGE_SCHEME]

    def __init__(self, uri: str, **options: Any) -> None:
        super().__init__(uri.removeprefix(ONE_TRIP_SCHEME), **options)
        connection = self.get_connection()
        self._acquire_and_read = connection.register_script(ACQUIRE_AND_READ)
        self._read_window = connection.register_script(READ_WINDOW)
        self._reads = threading.local()

    def _fresh_reads(self) -> dict[tuple[str, int], tuple[float, Window]]:
        """Windows read along with this request's hits. They belong to the request (on
        ``g``): a thread's next request must read afresh, as other threads may have hit
        the same key since."""
        if has_request_context():
            return g.setdefault("_ratelimit_reads", {})
        if not hasattr(self._reads, "fresh"):
            self._reads.fresh = {}
        return self._reads.fresh

    def window_keys(self, key: str) -> list[str]:
        """The previous and the current window's keys, as the stock Redis storage names
        them (the braces keep both on one Redis Cluster slot)."""
        current = self.prefixed_key(f"{{{key}}}")
        return [f"{current}/-1", current]

    def acquire_sliding_window_entry(
        self, key: str, limit: int, expiry: int, amount: int = 1
    ) -> bool:
        acquired, *window = self._acquire_and_read(self.window_keys(key), [expiry, limit, amount])
        reads = self._fresh_reads()
        now = time.monotonic()
        for stale in [k for k, read in reads.items() if now - read[0] > WINDOW_READ_FRESH_S]:
            del reads[stale]
        reads[key, expiry] = (now, _window(window))
        return bool(acquired)

    def get_sliding_window(self, key: str, expiry: int) -> tuple[int, float, int, float]:
        read = self._fresh_reads().pop((key, expiry), None)
        if read is not None and time.monotonic() - read[0] <= WINDOW_READ_FRESH_S:
            return read[1]
        return _window(self._read_window(self.window_keys(key), [expiry]))

    def clear_sliding_window(self, key: str, expiry: int) -> None:
        self.get_connection().delete(*self.window_keys(key))


EXEMPT_PREFIXES = ("/health", "/metrics", "/internal/", "/api/docs")


def caller_key() -> str:
    """Rate-limit key: the token's hash once the token is known good, else the client IP."""
    token = recognised_token()
    return f"token:{token_key(token)[:32]}" if token else f"ip:{get_remote_address()}"


class RejectedTokens:
    """How many refused bearer tokens one client address may present in a window
    (``RATELIMIT_REJECTED_TOKENS``); past that, its unknown tokens get 429 without being
    checked. Kept in the limiter's storage; when that is away, nothing is refused."""

    SCOPE = "rejected-tokens"

    def __init__(self, limiter: Limiter) -> None:
        self.limiter = limiter

    def _window(self) -> tuple[Any, list[str]]:
        item = parse(current_app.config["RATELIMIT_REJECTED_TOKENS"])
        return item, ["ratelimit", f"ip:{get_remote_address()}", self.SCOPE]

    def check(self) -> None:
        """429 when this client has used up its refused tokens."""
        item, identifiers = self._window()
        try:
            allowed = self.limiter.limiter.test(item, *identifiers)
            if not allowed:
                reset = self.limiter.limiter.get_window_stats(item, *identifiers).reset_time
        except Exception as exc:  # the storage is away: do not refuse for it
            log.warning("rejected-token limit unavailable: %s", exc)
            return
        if not allowed:
            abort(
                429,
                "Too many invalid tokens from this address; wait before trying again.",
                code="rate_limited",
                headers={"Retry-After": str(max(1, int(reset - time.time()) + 1))},
            )

    def count(self) -> None:
        """One more refused token from this client."""
        item, identifiers = self._window()
        try:
            self.limiter.limiter.hit(item, *identifiers)
        except Exception as exc:
            log.warning("rejected-token limit unavailable: %s", exc)


def _exempt() -> bool:
    return request.path.startswith(EXEMPT_PREFIXES)


def make_limiter() -> Limiter:
    """A limiter for one service; bind it with :func:`init_app`."""
    limiter = Limiter(
        key_func=caller_key,
        application_limits=[lambda: current_app.config["RATELIMIT_USER"]],
        headers_enabled=True,
        swallow_errors=True,
        in_memory_fallback_enabled=True,
        key_prefix="ratelimit",
        strategy=STRATEGY,
    )
    limiter.request_filter(_exempt)
    return limiter


def auth_limit(limiter: Limiter):
    """Per-IP limit for credential endpoints (login, register, password reset)."""
    return limiter.limit(lambda: current_app.config["RATELIMIT_AUTH"], key_func=get_remote_address)


def keyed_limit(limiter: Limiter, setting: str, key: Callable[[], str]):
    """An extra limit, read from the setting ``setting``, counted per ``key()`` (for
    example per share link rather than per caller)."""
    return limiter.limit(lambda: current_app.config[setting], key_func=key)


def init_app(app: Flask, limiter: Limiter) -> None:
    """Bind ``limiter`` to ``app``; a Redis ``RATELIMIT_STORAGE_URI`` goes through
    :class:`OneTripRedisStorage`, any other storage is limits' own."""
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    uri = app.config.get("RATELIMIT_STORAGE_URI") or ""
    if urlsplit(uri).scheme in RedisStorage.STORAGE_SCHEME:
        app.config["RATELIMIT_STORAGE_URI"] = ONE_TRIP_SCHEME + uri
    limiter.init_app(app)
    if app.config.get("RATELIMIT_REJECTED_TOKENS"):
        app.extensions["rejected_tokens"] = RejectedTokens(limiter)
