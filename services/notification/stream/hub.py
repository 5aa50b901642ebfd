"""The fan-out of one stream process: one reader of the platform's live log hands each
event to the open streams of this process that may see it.

Every stream process (any number, on any host) follows ``live:all``
(:mod:`services.common.live_log`) with a blocking ``XREAD`` from one thread, so a
client may be connected to any replica. Open streams (:class:`Subscriber`) are indexed
by the projects their user sees, by their user and (for admins) as seeing everything;
an event goes to the subscribers of its project, of the accounts it concerns and to the
admins, and each keeps it if one of its filters wants it.

Membership events change the index as they pass: ``project.member_removed`` drops the
project from the removed user's open streams before the next event is handed out (so
its events stop reaching them as soon as the removal does), ``project.member_added``
adds it, ``project.deleted`` drops it everywhere. Each such event also bumps a version,
so a stream opening meanwhile notices that the memberships it read may be stale.

A second thread sweeps every second over the process's open streams
(:class:`Watched`): it checks each one's token against the verifier's cache, whether its
client is still there and whether its slot lease is due, so an idle stream costs a
cheap look each second instead of waking up.

A subscriber's buffer is bounded (``STREAM_BUFFER_EVENTS``): one that cannot keep up is
interrupted (sent ``reset`` and closed) instead of growing. If the reader finds that the
log dropped entries it had not read yet (it fell more than ``STREAM_REPLAY_EVENTS``
behind), every stream of the process is interrupted the same way.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import redis
from flask import Flask

from services.common import live_log, memberships
from services.common.redis_store import get_redis

BLOCK_MS = 5000
SWEEP_SECONDS = 1.0
BATCH = 500
MEMBERSHIP_TYPES = ("project.member_added", "project.member_removed", "project.deleted")

log = logging.getLogger(__name__)

StreamId = tuple[int, int]


@dataclass(frozen=True)
class Filter:
    """Which events a stream wants: one project's or all it sees, some types or all."""

    project_id: int | None = None
    types: tuple[str, ...] | None = None

    def matches(self, event: dict[str, Any]) -> bool:
        if self.project_id is not None and event.get("project_id") != self.project_id:
            return False
        if self.types is None:
            return True
        kind = str(event.get("type", ""))
        return any(
            pattern in ("*", kind) or (pattern.endswith(".*") and kind.startswith(pattern[:-1]))
            for pattern in self.types
        )

    def describe(self) -> dict[str, Any]:
        return {"project_id": self.project_id, "types": list(self.types) if self.types else None}


@dataclass(frozen=True)
class Delivery:
    """An event on its way to one stream: its id in the log, its type, the envelope as
    JSON text (sent as it is, never serialised again)."""

    entry_id: StreamId
    type: str
    text: str


@dataclass(frozen=True)
class Incoming:
    """A message the WebSocket client sent."""

    text: str


class Watched(Protocol):
    """An open stream the hub's sweep looks at every second."""

    def sweep(self) -> None: ...


class Subscriber:
    """One open stream as the hub sees it: whose it is, what it wants, its buffer."""

    def __init__(self, user_id: int, is_admin: bool, filters: Iterable[Filter], size: int):
        self.user_id = user_id
        self.is_admin = is_admin
        self.projects: frozenset[int] = frozenset()
        # Replaced whole (never mutated), so the hub's thread reads a consistent tuple.
        self.filters: tuple[Filter, ...] = tuple(filters)
        self.interrupted: str | None = None
        # Set by the sweep: the token must be verified again (the cache no longer vouches).
        self.recheck = False
        self._inbox: queue.Queue[Delivery | Incoming | None] = queue.Queue(maxsize=size)

    def sees(self, event: dict[str, Any]) -> bool:
        """The activity feed's visibility: admins everything, members their projects',
        everyone the events of their own account."""
        if self.is_admin or event.get("project_id") in self.projects:
            return True
        return self.user_id in live_log.account_ids(event)

    def wants(self, event: dict[str, Any]) -> bool:
        return any(f.matches(event) for f in self.filters)

    def offer(self, delivery: Delivery, event: dict[str, Any]) -> None:
        """Keep the event if a filter wants it; a full buffer interrupts the stream."""
        if self.interrupted is None and self.wants(event):
            self._put(delivery)

    def post(self, message: Incoming) -> None:
        """A client's message, handled in turn with the events."""
        self._put(message)

    def interrupt(self, reason: str) -> None:
        """Ask the stream to send ``reset`` (``reason``) and close."""
        if self.interrupted is None:
            self.interrupted = reason
            # A full buffer needs no wake-up: the stream checks the flag before each item.
            with contextlib.suppress(queue.Full):
                self._inbox.put_nowait(None)

    def wake(self) -> None:
        """Have the stream look at its flags now (a recheck is due)."""
        with contextlib.suppress(queue.Full):
            self._inbox.put_nowait(None)

    def next(self, timeout: float) -> Delivery | Incoming | None:
        """The next event or message, or None after ``timeout`` seconds."""
        try:
            return self._inbox.get(timeout=timeout)
        except queue.Empty:
            return None

    def _put(self, item: Delivery | Incoming) -> None:
        try:
            self._inbox.put_nowait(item)
        except queue.Full:
            self.interrupt("too_slow")


class Hub:
    """The process's reader of the live log and index of its open streams."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.redis_url: str = app.config["REDIS_URL"]
        self.position: StreamId = (0, 0)
        self.healthy = False
        self._lock = threading.RLock()
        self._by_project: dict[int, set[Subscriber]] = defaultdict(set)
        self._by_user: dict[int, set[Subscriber]] = defaultdict(set)
        self._admins: set[Subscriber] = set()
        self._all: set[Subscriber] = set()
        self._watched: set[Watched] = set()
        self._versions: dict[int, int] = defaultdict(int)
        self._version_all = 0
        self._pid: int | None = None

    def ensure_started(self) -> None:
        """Start following the log from its newest entry (once per process); a Redis
        error here is the caller's (the request answers 503)."""
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self.position = live_log.latest_id(get_redis(self.redis_url))
            self._by_project.clear()
            self._by_user.clear()
            self._admins.clear()
            self._all.clear()
            self._watched.clear()
            self._pid = os.getpid()
            threading.Thread(target=self._run, name="live-hub", daemon=True).start()
            threading.Thread(target=self._sweep, name="live-sweep", daemon=True).start()

    def membership_version(self, user_id: int) -> int:
        """Changes whenever an event may have changed ``user_id``'s memberships."""
        return self._versions[user_id] + self._version_all

    def attach(
        self, subscriber: Subscriber, projects: frozenset[int], version: int
    ) -> StreamId | None:
        """Start handing events to ``subscriber`` with the memberships read at
        ``version``; the log position after which it gets them, or None (nothing
        attached) if the memberships changed since: read them again."""
        with self._lock:
            if not subscriber.is_admin and self.membership_version(subscriber.user_id) != version:
                return None
            subscriber.projects = projects
            self._index(subscriber)
            return self.position

    def detach(self, subscriber: Subscriber) -> None:
        with self._lock:
            self._unindex(subscriber)

    def watch(self, stream: Watched) -> None:
        """Have the sweep look at ``stream`` every second until :meth:`unwatch`."""
        with self._lock:
            self._watched.add(stream)

    def unwatch(self, stream: Watched) -> None:
        with self._lock:
            self._watched.discard(stream)

    def _sweep(self) -> None:
        while True:
            time.sleep(SWEEP_SECONDS)
            with self._lock:
                watched = list(self._watched)
            for stream in watched:
                try:
                    stream.sweep()
                except Exception:
                    log.exception("sweeping a stream failed")

    def regroup(self, subscriber: Subscriber, is_admin: bool, projects: frozenset[int]) -> None:
        """The user's role changed (admin or not) while the stream is open."""
        with self._lock:
            self._unindex(subscriber)
            subscriber.is_admin, subscriber.projects = is_admin, projects
            self._index(subscriber)

    def open_streams(self) -> int:
        """How many streams this process serves."""
        return len(self._all)

    def _index(self, subscriber: Subscriber) -> None:
        self._all.add(subscriber)
        self._by_user[subscriber.user_id].add(subscriber)
        if subscriber.is_admin:
            self._admins.add(subscriber)
        for project_id in subscriber.projects:
            self._by_project[project_id].add(subscriber)

    def _unindex(self, subscriber: Subscriber) -> None:
        self._all.discard(subscriber)
        self._admins.discard(subscriber)
        for index, key in [(self._by_user, subscriber.user_id)] + [
            (self._by_project, project_id) for project_id in subscriber.projects
        ]:
            group = index.get(key)
            if group is not None:
                group.discard(subscriber)
                if not group:
                    del index[key]

    def _set_projects(self, subscriber: Subscriber, projects: frozenset[int]) -> None:
        self._unindex(subscriber)
        subscriber.projects = projects
        self._index(subscriber)

    def dispatch(self, entry_id: StreamId, text: str) -> None:
        """Hand one logged event to every open stream of this process that sees it."""
        try:
            event = json.loads(text)
        except ValueError:
            log.warning("skipping a live-log entry that is not JSON: %s", entry_id)
            return
        if not isinstance(event, dict):
            return
        delivery = Delivery(entry_id, str(event.get("type", "")), text)
        with self._lock:
            self.position = entry_id
            audience = set(self._admins)
            audience.update(self._by_project.get(event.get("project_id"), ()))  # type: ignore[arg-type]
            for user_id in live_log.account_ids(event):
                audience.update(self._by_user.get(user_id, ()))
            for subscriber in audience:
                subscriber.offer(delivery, event)
            changed = self._apply_membership(event)
        if changed is not False:
            with self.app.app_context():
                memberships.forget(changed)

    def _apply_membership(self, event: dict[str, Any]) -> int | bool | None:
        """Apply a membership event to the open streams; the user whose cached
        memberships are stale (None: everyone's), or False for other events."""
        kind, project_id = event.get("type"), event.get("project_id")
        if kind not in MEMBERSHIP_TYPES or not isinstance(project_id, int):
            return False
        if kind == "project.deleted":
            self._version_all += 1
            for subscriber in list(self._by_project.get(project_id, ())):
                self._set_projects(subscriber, subscriber.projects - {project_id})
            return None
        user_id = (event.get("data") or {}).get("user_id")
        if not isinstance(user_id, int):
            return False
        self._versions[user_id] += 1
        for subscriber in list(self._by_user.get(user_id, ())):
            if subscriber.is_admin:
                continue
            if kind == "project.member_added":
                self._set_projects(subscriber, subscriber.projects | {project_id})
            else:
                self._set_projects(subscriber, subscriber.projects - {project_id})
        return user_id

    def interrupt_all(self, reason: str) -> None:
        with self._lock:
            everyone = list(self._all)
        for subscriber in everyone:
            subscriber.interrupt(reason)

    def _run(self) -> None:
        client = redis.Redis.from_url(
            self.redis_url, socket_connect_timeout=1, socket_timeout=BLOCK_MS / 1000 + 5
        )
        while True:
            try:
                batches = client.xread(
                    {live_log.ALL: live_log.format_id(self.position)}, count=BATCH, block=BLOCK_MS
                )
                if not self.healthy:
                    log.info("following the live log from %s", live_log.format_id(self.position))
                self.healthy = True
                if batches and live_log.gap_after(client, [live_log.ALL], self.position):
                    log.warning("the live log dropped entries not read yet: resetting streams")
                    self.interrupt_all("gap")
                for _key, entries in batches or []:
                    for raw_id, fields in entries:
                        entry_id = live_log.parse_id(raw_id.decode())
                        self.dispatch(entry_id, fields[live_log.ENTRY_FIELD.encode()].decode())  # type: ignore[arg-type]
            except redis.RedisError as exc:
                if self.healthy:
                    log.warning("live log unreachable: %s", exc)
                self.healthy = False
                time.sleep(0.5)
            except Exception:
                log.exception("live hub failed; going on")
                time.sleep(0.5)
