"""Bearer-token authentication for every service.

Only the user service holds the signing key. Every other service verifies a token by
calling ``POST /internal/auth/verify`` through :class:`RemoteTokenVerifier`, which:

- caches answers keyed by a SHA-256 of the token (never the token itself) for
  ``AUTH_CACHE_TTL`` seconds, so steady traffic makes very few verify calls. Sessions
  (tokens the user service vouched for) and rejected tokens live in two bounded caches,
  each evicting its least recently used entries: made-up tokens only ever push out other
  made-up tokens, never a real session, and a rejection is remembered for 10 s;
- listens on the Redis channel ``auth:revocations`` and drops a user's entries the
  moment the user service announces a logout, deactivation, password or role change.
  While that feed is down it trusts an entry for only ``REVOCATION_FALLBACK_TTL``
  seconds, so revocation is still enforced within 2 s;
- when the user service cannot be reached, keeps honouring an entry up to
  ``AUTH_STALE_TTL`` seconds old and answers 503 ``auth_unavailable`` for unknown tokens.

The user service plugs in its own local verifier; views everywhere use
:func:`require_auth` and :func:`current_principal`.

A token this process has not verified yet earns nothing until it is: the rate limiter
counts its requests against the client's address (:func:`recognised_token`), and a
client whose made-up tokens keep being refused gets 429 before any further verify call
(``RATELIMIT_REJECTED_TOKENS``, services.common.ratelimit).

:func:`require_auth` and :func:`current_principal`. A verified token carries its scopes
(a login session all of them, a personal access token those it was given);
:func:`require_auth` checks the scope each endpoint declares (:mod:`services.common.scopes`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, Protocol

import redis
import requests
from cachetools import LRUCache, TTLCache
from flask import Flask, current_app, g, request
from prometheus_client import Counter

from services.common.errors import abort
from services.common.http import http_session, internal_headers
from services.common.registry import service_url
from services.common.scopes import (
    ADMIN,
    REQUIREMENT_ATTRIBUTE,
    SESSION,
    SESSION_SCOPES,
    AuthRequirement,
)

REVOCATION_CHANNEL = "auth:revocations"
REVOCATION_FALLBACK_TTL = 1.5
# Bounds of the verifier's two caches (entries, each ~1 KB at most).
MAX_CACHED_SESSIONS = 50_000
MAX_CACHED_REJECTIONS = 20_000
REJECTION_TTL = 10.0

log = logging.getLogger(__name__)

VERIFY_CALLS = Counter(
    "auth_verify_calls_total",
    "Calls this process made to the user service's verify endpoint",
    ["outcome"],
)


@dataclass(frozen=True)
class Principal:
    """Who is calling: the verified owner of the bearer token."""

    id: int
    username: str
    role: str
    # The login session, or ``pat:<id>`` for a personal access token.
    session_id: str
    scopes: frozenset[str] = SESSION_SCOPES

    @property
    def is_admin(self) -> bool:
        """An admin account using its role: a token needs the ``admin`` scope for it."""
        return self.role == "admin" and ADMIN in self.scopes

    @property
    def is_session(self) -> bool:
        """A login session (not a personal access token)."""
        return SESSION in self.scopes

    def as_actor(self) -> dict[str, Any]:
        return {"id": self.id, "username": self.username}


class InvalidToken(Exception):
    """The token is malformed, forged, expired or revoked (a definitive 401)."""

    def __init__(self, detail: str, code: str = "unauthorized") -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code


class AuthUnavailable(Exception):
    """The token could not be checked because the user service is unreachable."""


class TokenVerifier(Protocol):
    def verify(self, token: str) -> Principal: ...

    def recognises(self, token: str) -> bool:
        """Whether ``token`` is known good without asking anyone (no I/O)."""
        ...


def token_key(token: str) -> str:
    """Cache key for a token: its SHA-256, so no token is ever held as a key."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class _Entry:
    principal: Principal | None
    error: InvalidToken | None
    verified_at: float
    expires_at: float


class RevocationFeed:
    """Background subscriber to ``auth:revocations`` (one per process)."""

    def __init__(self, redis_url: str, on_revoke: Callable[[int], None]):
        self.redis_url = redis_url
        self.on_revoke = on_revoke
        self.healthy = False
        # Answers verified before this moment may predate a missed announcement.
        self.listening_since = float("inf")
        self._pid: int | None = None
        self._lock = threading.Lock()

    def ensure_started(self) -> None:
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self.healthy = False
            threading.Thread(target=self._run, name="auth-revocations", daemon=True).start()

    def _run(self) -> None:
        while True:
            try:
                client = redis.Redis.from_url(
                    self.redis_url,
                    socket_connect_timeout=1,
                    socket_timeout=3,
                    health_check_interval=1,
                )
                pubsub = client.pubsub()
                pubsub.subscribe(REVOCATION_CHANNEL)
                confirmed = pubsub.get_message(timeout=2.0)
                if not confirmed or confirmed.get("type") != "subscribe":
                    raise ConnectionError("no subscription confirmation from Redis")
                self.listening_since = time.monotonic()
                self.healthy = True
                while True:
                    message = pubsub.get_message(timeout=1.0)
                    if message and message.get("type") == "message":
                        self._handle(message["data"])
            except Exception as exc:  # any failure: mark unhealthy and reconnect
                if self.healthy:
                    log.warning("revocation feed lost: %s", exc)
                self.healthy = False
                time.sleep(0.5)

    def _handle(self, data: bytes) -> None:
        try:
            user_id = int(json.loads(data)["user_id"])
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring malformed revocation message")
            return
        self.on_revoke(user_id)


class RemoteTokenVerifier:
    """Verifies tokens against the user service, with the cache described above."""

    def __init__(
        self,
        verify_url: str,
        service_token: str,
        redis_url: str,
        *,
        ttl: float = 60.0,
        stale_ttl: float = 60.0,
        timeout: float = 2.0,
        max_sessions: int = MAX_CACHED_SESSIONS,
        max_rejections: int = MAX_CACHED_REJECTIONS,
    ) -> None:
        self.verify_url = verify_url
        self.service_token = service_token
        self.ttl = ttl
        self.stale_ttl = stale_ttl
        self.timeout = timeout
        # cachetools' caches are not thread-safe: every access holds the lock.
        self._sessions: LRUCache[str, _Entry] = LRUCache(maxsize=max_sessions)
        self._rejected: TTLCache[str, InvalidToken] = TTLCache(
            maxsize=max_rejections, ttl=min(ttl, REJECTION_TTL)
        )
        self._revoked_at: dict[int, float] = {}
        self._lock = threading.Lock()
        self.feed = RevocationFeed(redis_url, self.drop_user)

    def drop_user(self, user_id: int) -> None:
        with self._lock:
            # An answer already in flight must not re-cache the revoked session.
            self._revoked_at[user_id] = time.monotonic()
            for key in [
                k for k, e in self._sessions.items() if e.principal and e.principal.id == user_id
            ]:
                del self._sessions[key]

    def recognises(self, token: str) -> bool:
        """Whether the user service vouched for ``token`` and that answer still holds."""
        with self._lock:
            entry = self._sessions.get(token_key(token))
        return entry is not None and time.monotonic() < entry.expires_at

    def is_fresh(self, token: str) -> bool:
        """Whether :meth:`verify` would accept ``token`` from its cache, without a call:
        a long-lived connection checks this every second and verifies again only when
        not (a revocation dropped the entry, or it expired)."""
        with self._lock:
            entry = self._sessions.get(token_key(token))
        now = time.monotonic()
        return bool(
            entry
            and entry.principal
            and now < entry.expires_at
            and now - entry.verified_at < self._fresh_for(entry)
        )

    def verify(self, token: str) -> Principal:
        self.feed.ensure_started()
        key = token_key(token)
        now = time.monotonic()
        with self._lock:
            rejection = self._rejected.get(key)
            entry = self._sessions.get(key)
        if rejection is not None:
            raise rejection
        if entry and now < entry.expires_at and now - entry.verified_at < self._fresh_for(entry):
            return self._answer(entry)
        try:
            entry = self._call(token, now)
        except AuthUnavailable:
            if (
                entry
                and entry.principal
                and now < entry.expires_at
                and now - entry.verified_at <= self.stale_ttl
            ):
                return entry.principal
            raise
        with self._lock:
            if entry.error is not None:
                self._sessions.pop(key, None)
                self._rejected[key] = entry.error
            else:
                revoked_at = self._revoked_at.get(entry.principal.id) if entry.principal else None
                if revoked_at is None or revoked_at < entry.verified_at:
                    self._sessions[key] = entry
        return self._answer(entry)

    def _fresh_for(self, entry: _Entry) -> float:
        """Trust an answer for the full TTL only while revocations are being heard."""
        if self.feed.healthy and entry.verified_at >= self.feed.listening_since:
            return self.ttl
        return REVOCATION_FALLBACK_TTL

    @staticmethod
    def _answer(entry: _Entry) -> Principal:
        if entry.error:
            raise entry.error
        assert entry.principal is not None
        return entry.principal

    def _call(self, token: str, now: float) -> _Entry:
        try:
            response = http_session().post(
                self.verify_url,
                json={"token": token},
                headers=internal_headers(self.service_token),
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            VERIFY_CALLS.labels("unreachable").inc()
            raise AuthUnavailable(str(exc)) from exc
        if response.status_code == 401:
            VERIFY_CALLS.labels("rejected").inc()
            body = _json_or_empty(response)
            error = InvalidToken(
                body.get("detail", "The token is not valid."), body.get("code", "unauthorized")
            )
            return _Entry(None, error, now, now + min(self.ttl, 10.0))
        if response.status_code != 200:
            VERIFY_CALLS.labels("error").inc()
            raise AuthUnavailable(f"verify answered {response.status_code}")
        VERIFY_CALLS.labels("ok").inc()
        body = response.json()
        user = body["user"]
        scopes = frozenset(body.get("scopes", SESSION_SCOPES))
        principal = Principal(
            user["id"], user["username"], user["role"], body["session_id"], scopes
        )
        expires_in = float(body.get("expires_in", self.ttl))
        return _Entry(principal, None, now, now + expires_in)


def _json_or_empty(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def bearer_token() -> str | None:
    """The bearer token of the current request, or None."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def recognised_token() -> str | None:
    """The request's bearer token when this process already knows it to be good (a
    session the user service vouched for, or, in the user service, a token it signed);
    None for no token or one not verified yet. Asked once per request."""
    if "recognised_token" not in g:
        token = bearer_token()
        verifier = current_app.extensions.get("token_verifier")
        known = token is not None and verifier is not None and verifier.recognises(token)
        g.recognised_token = token if known else None
    return g.recognised_token


def authenticate(token: str | None = None) -> Principal:
    """Verify the request's bearer token (or ``token``, a token the request brought
    another way) and remember the principal on ``g``."""
    if g.get("principal") is not None:
        return g.principal
    token = token or bearer_token()
    if token is None:
        abort(
            401,
            "A bearer token is required.",
            code="unauthorized",
            headers={"WWW-Authenticate": "Bearer"},
        )
    verifier: TokenVerifier = current_app.extensions["token_verifier"]
    # Set by services.common.ratelimit: refuses a client whose tokens keep failing.
    rejections = current_app.extensions.get("rejected_tokens")
    unknown = rejections is not None and recognised_token() is None
    if unknown:
        rejections.check()
    try:
        principal = verifier.verify(token)
    except InvalidToken as exc:
        if unknown:
            rejections.count()
        abort(
            401,
            exc.detail,
            code=exc.code,
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    except AuthUnavailable:
        abort(
            503,
            "Authentication is temporarily unavailable; try again shortly.",
            code="auth_unavailable",
            headers={"Retry-After": "5"},
        )
    g.principal = principal
    return principal


def require_auth(
    view: Callable | None = None, *, admin: bool = False, scope: str | None = None
) -> Callable:
    """Decorator: the view needs a valid bearer token holding the scope it declares, and
    the admin role if ``admin`` (which implies the ``admin`` scope).

    ``scope`` is a family (``"tasks"``: ``tasks:read`` for GET and HEAD, ``tasks:write``
    otherwise) or one exact scope (:mod:`services.common.scopes`). Without one, only a
    login session gets in, and tests/common/test_scopes.py names the endpoint.
    """
    requirement = AuthRequirement(scope or (ADMIN if admin else None), admin)

    def decorate(func: Callable) -> Callable:
        @wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            principal = authenticate()
            require_scope(requirement.needed(request.method))
            if admin and not principal.is_admin:
                abort(403, "This action needs the admin role.", code="forbidden")
            return func(*args, **kwargs)

        setattr(wrapper, REQUIREMENT_ATTRIBUTE, requirement)
        return wrapper

    setattr(decorate, REQUIREMENT_ATTRIBUTE, requirement)
    return decorate(view) if view is not None else decorate


def declare_scope(scope: str) -> Callable:
    """Decorator for a view that authenticates on its own (a live stream, whose token may
    come with a ticket): documents ``scope`` as :func:`require_auth` would; the view
    enforces it itself with :func:`require_scope` once it knows the caller."""
    requirement = AuthRequirement(scope)

    def decorate(func: Callable) -> Callable:
        setattr(func, REQUIREMENT_ATTRIBUTE, requirement)
        return func

    return decorate


def require_scope(scope: str) -> None:
    """403 ``insufficient_scope`` unless the authenticated caller's token holds ``scope``."""
    if scope in authenticate().scopes:
        return
    detail = (
        "This needs a login session; a personal access token cannot do it."
        if scope == SESSION
        else f"The token lacks the {scope} scope."
    )
    abort(
        403,
        detail,
        code="insufficient_scope",
        headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'},
        scope=scope,
    )


def current_principal() -> Principal:
    """The authenticated caller (only inside a view protected by :func:`require_auth`)."""
    return g.principal


def publish_revocation(redis_client: redis.Redis, user_id: int) -> None:
    """Tell every service to forget cached answers for ``user_id`` (best effort)."""
    try:
        redis_client.publish(REVOCATION_CHANNEL, json.dumps({"user_id": user_id}))
    except redis.RedisError as exc:
        # Subscribers notice the outage too and fall back to re-verifying every 1.5 s.
        log.warning("could not announce revocation for user %s: %s", user_id, exc)


def init_app(app: Flask, verifier: TokenVerifier | None = None) -> None:
    """Install the token verifier: the given one, or the remote one for this service."""
    if verifier is None:
        config = app.config
        verifier = RemoteTokenVerifier(
            service_url("user", config) + "/internal/auth/verify",
            config["SERVICE_TOKEN"],
            config["REDIS_URL"],
            ttl=config["AUTH_CACHE_TTL"],
            stale_ttl=config["AUTH_STALE_TTL"],
            timeout=config["AUTH_VERIFY_TIMEOUT"],
        )
    app.extensions["token_verifier"] = verifier
