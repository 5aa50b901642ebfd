"""One open stream, Server-Sent Events or WebSocket alike: the checks before it starts,
then its frames until it ends.

Before the first byte (:meth:`StreamSession.open`), anything wrong is a problem+json
response: a resume position the log never gave (422), too many streams (429
``too_many_streams``), a project filter naming a project the caller is not a member of
(404), memberships or Redis out of reach (503). Then :meth:`StreamSession.frames`
yields, in order:

1. with a resume position, what the caller missed: the entries after it in every log
   they see (their projects' and their account's, or the whole platform's for an
   admin), merged by id, up to the position from which the hub hands them live
   events, so nothing is missed and nothing comes twice; ``reset`` (then live events)
   when the position is older than the log keeps (``STREAM_REPLAY_SECONDS``) or the
   count bound dropped entries after it;
2. live events from the hub, a heartbeat when nothing was sent for
   ``STREAM_HEARTBEAT_SECONDS``, the WebSocket client's messages in turn.

Every second the hub's sweep looks at the stream (:meth:`StreamSession.sweep`): is its
token still vouched for by the service's token verifier, whose cache drops a user's
entries the moment the user service announces a revocation; is its client still there;
is its slot lease due. When the cache no longer vouches, the stream verifies its token
again (a call to the user service): a logout, a deactivation or an expired token ends
the stream with an ``error`` frame within about a second. A stream interrupted by the hub (too slow, or a gap in the log)
ends with ``reset``. Ending, in any way, gives the user's slot back.
"""

from __future__ import annotations

import heapq
import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import marshmallow as ma
import redis
from flask import Flask

from services.common import live_log, memberships
from services.common.auth import AuthUnavailable, InvalidToken, Principal
from services.common.errors import ServiceUnavailable, abort, flatten_messages, problem_body
from services.common.redis_store import get_redis
from services.notification.stream.hub import Delivery, Filter, Hub, Incoming, StreamId, Subscriber
from services.notification.stream.schemas import SubscriptionSchema
from services.notification.stream.slots import RENEW_EVERY, Slot

REPLAY_PAGE = 200
MAX_SUBSCRIPTIONS = 20
# Why a stream was interrupted when its client left: it ends without a last frame.
CLIENT_GONE = "client_gone"
ATTACH_ATTEMPTS = 5

log = logging.getLogger(__name__)
_subscription_schema = SubscriptionSchema()


def make_filter(project_id: int | None, types: list[str] | None) -> Filter:
    """A filter, its types in one order so equal filters compare equal."""
    return Filter(project_id, tuple(sorted(set(types))) if types else None)


@dataclass(frozen=True)
class Frame:
    """What a stream sends next, before it is written as SSE or a WebSocket message.

    ``kind`` is ``event`` (``entry_id``, ``type``, ``text``: the envelope as JSON),
    ``reset`` and ``error`` (``data``), ``ack`` (a WebSocket subscription changed),
    ``heartbeat``, or ``incoming`` (a client's message, ``text``). ``final``: the
    stream ends after it."""

    kind: str
    entry_id: StreamId | None = None
    type: str | None = None
    text: str | None = None
    data: dict[str, Any] | None = None
    final: bool = False


class StreamSession:
    """One caller's open stream."""

    def __init__(
        self,
        app: Flask,
        principal: Principal,
        token: str,
        filters: list[Filter],
        resume_after: StreamId | None,
        request_id: str | None,
    ) -> None:
        config = app.config
        self.app = app
        self.hub: Hub = app.extensions["stream_hub"]
        self.verifier = app.extensions["token_verifier"]
        self.redis = get_redis(config["REDIS_URL"])
        self.principal = principal
        self.token = token
        self.subscriber = Subscriber(
            principal.id, principal.is_admin, filters, config["STREAM_BUFFER_EVENTS"]
        )
        self.resume_after = resume_after
        self.heartbeat = config["STREAM_HEARTBEAT_SECONDS"]
        self.window = config["STREAM_REPLAY_SECONDS"]
        self.max_streams = config["STREAM_MAX_PER_USER"]
        self.request_id = request_id
        self.slot = Slot(self.redis, principal.id)
        self.boundary: StreamId = (0, 0)
        self.skip_until: StreamId = (0, 0)
        # Set by the transport: whether the client has gone away.
        self.client_gone: Callable[[], bool] = lambda: False
        self._holding = False
        self._attached = False
        self._next_renew = time.monotonic() + RENEW_EVERY

    # --- before the stream starts -------------------------------------------------------

    def open(self) -> None:
        """Take one of the user's slots and start receiving events, or stop the request
        with the problem that prevents it."""
        try:
            self.hub.ensure_started()
            if self.resume_after and self.resume_after > live_log.latest_id(self.redis):
                abort(
                    422,
                    "The request did not validate.",
                    errors={"Last-Event-ID": ["Not an id this stream has sent."]},
                )
            if not self.slot.take(self.max_streams):
                abort(
                    429,
                    f"At most {self.max_streams} streams may be open at once; close one first.",
                    code="too_many_streams",
                    headers={"Retry-After": str(int(self.heartbeat))},
                )
            self._holding = True
            self._attach()
            for wanted in self.subscriber.filters:
                self.check_project(wanted.project_id)
            self.hub.watch(self)
        except redis.RedisError as exc:
            self.close()
            log.warning("stream cannot start, Redis: %s", exc)
            abort(
                503,
                "Live updates are unavailable; try again shortly.",
                code="service_unavailable",
                headers={"Retry-After": "5"},
            )
        except BaseException:
            self.close()
            raise
        self.skip_until = max(self.boundary, self.resume_after or (0, 0))

    def _attach(self) -> None:
        for attempt in range(ATTACH_ATTEMPTS):
            version = self.hub.membership_version(self.principal.id)
            projects = self._memberships(fresh=attempt > 0)
            position = self.hub.attach(self.subscriber, projects, version)
            if position is not None:
                self.boundary = position
                self._attached = True
                return
        abort(503, "Memberships keep changing; try again.", code="service_unavailable")

    def _memberships(self, fresh: bool = False) -> frozenset[int]:
        if self.subscriber.is_admin:
            return frozenset()
        with self.app.app_context():
            if fresh:
                memberships.forget(self.principal.id)
            return memberships.member_project_ids(self.principal.id)

    def check_project(self, project_id: int | None) -> None:
        """404 for a project the caller may not see (its existence does not leak)."""
        if project_id is None or self.subscriber.is_admin:
            return
        if project_id not in self.subscriber.projects:
            abort(404, "No such project.", code="not_found")

    def close(self) -> None:
        """Stop receiving and give the slot back (safe to call more than once)."""
        self.hub.unwatch(self)
        if self._attached:
            self._attached = False
            self.hub.detach(self.subscriber)
        if self._holding:
            self._holding = False
            try:
                self.slot.release()
            except redis.RedisError as exc:  # the lease runs out by itself
                log.warning("could not give a stream slot back: %s", exc)

    # --- the stream ---------------------------------------------------------------------

    def sweep(self) -> None:
        """The hub's look every second (on its own thread): the client gone ends the
        stream; a token the verifier's cache no longer vouches for is verified again by
        the stream; a lease due is renewed."""
        if self.client_gone():
            self.subscriber.interrupt(CLIENT_GONE)
            return
        is_fresh = getattr(self.verifier, "is_fresh", None)
        if is_fresh is None or not is_fresh(self.token):
            self.subscriber.recheck = True
            self.subscriber.wake()
        now = time.monotonic()
        if now >= self._next_renew:
            self._next_renew = now + RENEW_EVERY
            self._renew()

    def frames(self) -> Iterator[Frame]:
        """Everything the stream sends, in order, until it ends."""
        yield from self._replay()
        last_sent = time.monotonic()
        while True:
            quiet = time.monotonic() - last_sent
            item = self.subscriber.next(timeout=max(0.05, self.heartbeat - quiet))
            if self.subscriber.interrupted == CLIENT_GONE:
                return
            if self.subscriber.interrupted:
                yield self._reset(self.subscriber.interrupted, final=True)
                return
            if self.subscriber.recheck:
                self.subscriber.recheck = False
                problem = self._recheck()
                if problem is not None:
                    yield Frame("error", data=problem, final=True)
                    return
            now = time.monotonic()
            if isinstance(item, Delivery):
                if item.entry_id > self.skip_until:
                    last_sent = now
                    yield Frame("event", item.entry_id, item.type, item.text)
            elif isinstance(item, Incoming):
                yield Frame("incoming", text=item.text)
            elif now - last_sent >= self.heartbeat:
                last_sent = now
                yield Frame("heartbeat")

    def _replay(self) -> Iterator[Frame]:
        after = self.resume_after
        if after is None:
            return
        keys = self._logs()
        horizon = live_log.id_of_time(time.time() - self.window)
        try:
            if after < horizon or live_log.gap_after(self.redis, keys, after):
                yield self._reset("too_old")
                return
            previous = None
            for entry_id, text in heapq.merge(*(self._entries(key, after) for key in keys)):
                if entry_id == previous:
                    continue  # the same event in two of the caller's logs
                previous = entry_id
                event = json.loads(text)
                if self.subscriber.sees(event) and self.subscriber.wants(event):
                    yield Frame("event", entry_id, str(event.get("type")), text)
        except redis.RedisError as exc:
            log.warning("could not replay the live log: %s", exc)
            yield self._reset("unavailable")

    def _logs(self) -> list[str]:
        """The logs holding everything the caller may see."""
        if self.subscriber.is_admin:
            return [live_log.ALL]
        projects = set(self.subscriber.projects)
        wanted = {f.project_id for f in self.subscriber.filters}
        if None not in wanted:
            projects &= wanted
        return [live_log.project_log(p) for p in sorted(projects)] + [
            live_log.user_log(self.principal.id)
        ]

    def _entries(self, key: str, after: StreamId) -> Iterator[tuple[StreamId, str]]:
        while True:
            page = live_log.read_after(self.redis, key, after, self.boundary, REPLAY_PAGE)
            yield from page
            if len(page) < REPLAY_PAGE:
                return
            after = page[-1][0]

    def _reset(self, reason: str, final: bool = False) -> Frame:
        """``reset``: refetch what you show. One that does not end the stream carries the
        position live events continue from."""
        return Frame(
            "reset", None if final else self.boundary, data={"reason": reason}, final=final
        )

    def _recheck(self) -> dict[str, Any] | None:
        """The problem that ends the stream (a revoked or expired token, ...), or None."""
        try:
            principal = self.verifier.verify(self.token)
        except InvalidToken as exc:
            return self.problem(401, exc.detail, exc.code)
        except AuthUnavailable:
            return self.problem(
                503,
                "Authentication is temporarily unavailable; reconnect shortly.",
                "auth_unavailable",
            )
        if principal.role != self.principal.role:
            try:
                self.principal = principal
                self.subscriber.is_admin = principal.is_admin
                projects = self._memberships(fresh=True)
            except ServiceUnavailable:
                return self.problem(503, "Memberships are unavailable; reconnect shortly.")
            self.hub.regroup(self.subscriber, principal.is_admin, projects)
        return None

    def _renew(self) -> None:
        try:
            self.slot.renew()
        except redis.RedisError as exc:
            log.warning("could not renew a stream slot: %s", exc)

    def problem(
        self, status: int, detail: str, code: str | None = None, errors: dict | None = None
    ) -> dict[str, Any]:
        """A problem+json body, for a frame sent once the stream has started."""
        body = problem_body(status, detail, code, errors)
        body["request_id"] = self.request_id
        return body

    # --- WebSocket messages -------------------------------------------------------------

    def handle_message(self, text: str) -> Frame:
        """Apply ``{"subscribe": {...}}`` or ``{"unsubscribe": {...}}``: an ``ack`` with
        the subscriptions now in force, or an ``error`` (the stream goes on)."""
        try:
            message = json.loads(text)
        except ValueError:
            return self._message_error(400, "The message is not JSON.", "invalid_message")
        if not (isinstance(message, dict) and len(message) == 1) or not isinstance(
            message.get("subscribe", message.get("unsubscribe")), dict
        ):
            return self._message_error(
                422,
                'Send {"subscribe": {...}} or {"unsubscribe": {...}} with project_id and/or types.',
                "invalid_message",
            )
        action, body = next(iter(message.items()))
        try:
            fields = _subscription_schema.load(body)
        except ma.ValidationError as exc:
            return self._message_error(
                422, "The subscription did not validate.", errors=flatten_messages(exc.messages)
            )
        wanted = make_filter(fields.get("project_id"), fields.get("types"))
        current = self.subscriber.filters
        if action == "subscribe":
            if wanted.project_id is not None and not (
                self.subscriber.is_admin or wanted.project_id in self.subscriber.projects
            ):
                return self._message_error(404, "No such project.", "not_found")
            if wanted not in current:
                if len(current) >= MAX_SUBSCRIPTIONS:
                    return self._message_error(
                        422,
                        f"At most {MAX_SUBSCRIPTIONS} subscriptions per connection.",
                        "too_many_subscriptions",
                    )
                self.subscriber.filters = (*current, wanted)
        else:
            if wanted not in current:
                return self._message_error(404, "No such subscription.", "not_subscribed")
            self.subscriber.filters = tuple(f for f in current if f != wanted)
        return Frame(
            "ack",
            type="subscribed" if action == "subscribe" else "unsubscribed",
            data={
                action: wanted.describe(),
                "subscriptions": [f.describe() for f in self.subscriber.filters],
            },
        )

    def _message_error(
        self, status: int, detail: str, code: str | None = None, errors: dict | None = None
    ) -> Frame:
        return Frame("error", data=self.problem(status, detail, code, errors))
