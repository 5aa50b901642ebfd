"""A bounded per-process cache whose entries expire: ``cachetools.TTLCache`` behind a
lock (cachetools' caches are not thread-safe, and a process serves requests on threads).

The internal-call clients keep short-lived answers of other services in one, so steady
traffic costs few calls; ``MISSING`` tells "not cached" from a cached None.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Mapping
from typing import Any

from cachetools import TTLCache

MISSING: Any = object()


class ExpiringCache:
    """At most ``maxsize`` entries (least recently used go first), each kept ``ttl``
    seconds."""

    def __init__(self, maxsize: int, ttl: float) -> None:
        self._entries: TTLCache = TTLCache(maxsize=maxsize, ttl=ttl)
        self._lock = threading.Lock()

    @property
    def ttl(self) -> float:
        return self._entries.ttl

    def get(self, key: Hashable, default: Any = MISSING) -> Any:
        """The live entry of ``key``, else ``default`` (:data:`MISSING`)."""
        with self._lock:
            return self._entries.get(key, default)

    def set(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._entries[key] = value

    def pop(self, key: Hashable) -> None:
        """Drop ``key``'s entry, if there is one."""
        with self._lock:
            self._entries.pop(key, None)

    def update(self, entries: Mapping[Hashable, Any]) -> None:
        with self._lock:
            self._entries.update(entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
