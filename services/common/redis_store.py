"""The process's Redis connection (rate limits, revocation announcements, caches)."""

from __future__ import annotations

import os

import redis
from flask import current_app

_clients: dict[tuple[int, str], redis.Redis] = {}


def get_redis(url: str | None = None) -> redis.Redis:
    """A pooled client with short timeouts, so a dead Redis fails fast instead of hanging."""
    url = url or current_app.config["REDIS_URL"]
    key = (os.getpid(), url)
    client = _clients.get(key)
    if client is None:
        client = redis.Redis.from_url(
            url, socket_timeout=1, socket_connect_timeout=1, health_check_interval=10
        )
        _clients[key] = client
    return client
