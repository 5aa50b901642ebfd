"""Rate limits with Flask-Limiter on Redis.

- every authenticated caller has one budget across the whole API (``RATELIMIT_USER``),
  keyed by a hash of the bearer token; anonymous callers are keyed by IP;
- the credential endpoints take an extra per-IP limit via :func:`auth_limit`.

Responses carry ``X-RateLimit-*``; a 429 carries ``Retry-After``. If Redis goes away the
limits fall back to per-process memory rather than failing requests.
"""

from __future__ import annotations

from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from services.common.auth import bearer_token, token_key

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
        strategy="sliding-window-counter",
    )
    limiter.request_filter(_exempt)
    return limiter


def auth_limit(limiter: Limiter):
    """Per-IP limit for credential endpoints (login, register, password reset)."""
    return limiter.limit(lambda: current_app.config["RATELIMIT_AUTH"], key_func=get_remote_address)


def init_app(app: Flask, limiter: Limiter) -> None:
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    limiter.init_app(app)
