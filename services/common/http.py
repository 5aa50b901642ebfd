"""Outgoing HTTP for internal calls: one pooled session per process, with timeouts.

Every internal call carries the shared ``X-Service-Token`` and forwards the current
``X-Request-ID``.
"""

from __future__ import annotations

import hmac
import os
import threading
from collections.abc import Callable
from functools import wraps
from typing import Any

import requests
from flask import current_app, request
from requests.adapters import HTTPAdapter

from services.common.errors import abort
from services.common.logs import REQUEST_ID_HEADER, current_request_id

SERVICE_TOKEN_HEADER = "X-Service-Token"

_sessions: dict[tuple[int, type[HTTPAdapter]], requests.Session] = {}
_sessions_lock = threading.Lock()


def http_session(adapter_class: type[HTTPAdapter] = HTTPAdapter) -> requests.Session:
    """The process-wide pooled session (rebuilt after a fork); one per adapter class,
    for callers whose connections need an adapter of their own."""
    key = (os.getpid(), adapter_class)
    session = _sessions.get(key)
    if session is None:
        with _sessions_lock:
            session = _sessions.get(key)
            if session is None:
                session = requests.Session()
                adapter = adapter_class(pool_connections=16, pool_maxsize=64, max_retries=0)
                session.mount("http://", adapter)
                session.mount("https://", adapter)
                for stale in [k for k in _sessions if k[0] != key[0]]:
                    del _sessions[stale]
                _sessions[key] = session
    return session


def internal_headers(service_token: str) -> dict[str, str]:
    """Headers every internal call carries."""
    headers = {SERVICE_TOKEN_HEADER: service_token}
    request_id = current_request_id()
    if request_id:
        headers[REQUEST_ID_HEADER] = request_id
    return headers


def internal_call(
    method: str, url: str, *, timeout: float | None = None, **kwargs: Any
) -> requests.Response:
    """Call another service's internal endpoint with the service token and request id."""
    config = current_app.config
    headers = internal_headers(config["SERVICE_TOKEN"])
    headers.update(kwargs.pop("headers", {}) or {})
    return http_session().request(
        method, url, headers=headers, timeout=timeout or config["HTTP_TIMEOUT"], **kwargs
    )


def require_service_token(view: Callable) -> Callable:
    """Allow a view only to callers holding the shared service token."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        given = request.headers.get(SERVICE_TOKEN_HEADER, "")
        expected = current_app.config["SERVICE_TOKEN"]
        if not given or not hmac.compare_digest(given.encode(), expected.encode()):
            abort(403, "This endpoint is for platform services only.", code="forbidden")
        return view(*args, **kwargs)

    return wrapper
