"""The quick views' cache in Redis: an answer is computed at most once however many
requests want it at the same moment, and no request can force it to be computed again
and again.

- An answer is kept ``QUICK_CACHE_SECONDS`` under a key naming the user (and project);
  nothing else of the request (query string, headers) is part of the key.
- ``Cache-Control: no-cache`` recomputes only an answer at least
  ``QUICK_REFRESH_SECONDS`` old; a younger one is served as it is.
- Single flight: a request that finds no usable answer takes the key's lock (Redis, so
  across processes and replicas) and computes; the others wait for its answer (polling
  the cache) for at most ``QUICK_WAIT_SECONDS``, then get 503 with Retry-After. The lock
  expires after ``QUICK_WAIT_SECONDS`` too, so a computation that died with its process
  holds nobody up for longer, and at most one computation per view starts in that time.

When Redis is away the answer is computed for each request, as without a cache.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import current_app, request
from redis.exceptions import LockError, RedisError

from services.common.errors import abort
from services.common.redis_store import get_redis

log = logging.getLogger(__name__)

POLL_SECONDS = 0.05


@dataclass(frozen=True)
class Entry:
    computed_at: float
    value: dict[str, Any]


def _read(key: str) -> Entry | None:
    raw = get_redis().get(key)
    if raw is None:
        return None
    stored = json.loads(raw)
    return Entry(stored["computed_at"], stored["value"])


def _write(key: str, value: dict[str, Any], ttl: float) -> None:
    stored = {"computed_at": time.time(), "value": value}
    get_redis().set(key, json.dumps(stored), px=int(ttl * 1000))


def _wants_fresh() -> bool:
    return "no-cache" in request.headers.get("Cache-Control", "").lower()


def cached(key: str, compute: Callable[[], dict[str, Any]]) -> tuple[dict[str, Any], str]:
    """``compute()``'s answer, from the cache when usable; and ``hit`` or ``miss``."""
    config = current_app.config
    ttl = config["QUICK_CACHE_SECONDS"]
    if ttl <= 0:
        return compute(), "miss"
    oldest = time.time() - config["QUICK_REFRESH_SECONDS"] if _wants_fresh() else 0.0
    wait = config["QUICK_WAIT_SECONDS"]
    try:
        return _single_flight(key, compute, ttl, oldest, wait)
    except RedisError as exc:
        log.warning("quick view cache unavailable: %s", exc)
        return compute(), "miss"


def _single_flight(
    key: str, compute: Callable[[], dict[str, Any]], ttl: float, oldest: float, wait: float
) -> tuple[dict[str, Any], str]:
    deadline = time.monotonic() + wait
    while True:
        entry = _read(key)
        if entry is not None and entry.computed_at >= oldest:
            return entry.value, "hit"
        lock = get_redis().lock(f"{key}:computing", timeout=wait, blocking=False)
        if lock.acquire():
            try:
                entry = _read(key)  # written while this request took the lock?
                if entry is not None and entry.computed_at >= oldest:
                    return entry.value, "hit"
                value = compute()
                _write(key, value, ttl)
                return value, "miss"
            finally:
                # LockError: it expired meanwhile (another request may compute already).
                with contextlib.suppress(LockError):
                    lock.release()
        if time.monotonic() >= deadline:
            abort(
                503,
                "This view is being computed for you; try again shortly.",
                code="service_unavailable",
                headers={"Retry-After": "1"},
            )
        time.sleep(POLL_SECONDS)
