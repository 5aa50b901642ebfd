"""Outgoing HTTP for internal calls: one pooled session per process, with timeouts.

Every internal call carries the shared ``X-Service-Token`` and forwards the current
``X-Request-ID``. :func:`call_service` is the one way a service asks another: the
service's name (its base URL comes from :mod:`services.common.registry`), the path, and
the contract schema the answer is loaded with. Anything but a usable answer raises
:class:`~services.common.errors.ServiceUnavailable`: 503 in a request, a retry in a job.
"""

from __future__ import annotations

import hmac
import os
import threading
from collections.abc import Callable, Mapping
from functools import wraps
from typing import Any

import marshmallow as ma
import requests
from flask import current_app, request
from requests.adapters import HTTPAdapter

from services.common.errors import ServiceUnavailable, abort
from services.common.logs import REQUEST_ID_HEADER, current_request_id
from services.common.registry import service_url

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


def call_service(
    service: str,
    path: str,
    schema: ma.Schema,
    *,
    params: Mapping[str, Any] | None = None,
    timeout: float | None = None,
    missing_ok: bool = False,
) -> Any:
    """``GET path`` of ``service``'s internal API, its answer loaded with ``schema``.

    Query ``params`` that are None are left out; ``timeout`` defaults to
    ``HTTP_TIMEOUT``. With ``missing_ok`` a 404 is an answer: None. Raises
    :class:`ServiceUnavailable` when the service cannot be reached, answers another
    status, or sends a body ``schema`` does not load.
    """
    config = current_app.config
    query = {key: value for key, value in (params or {}).items() if value is not None}
    try:
        response = http_session().request(
            "GET",
            service_url(service, config) + path,
            params=query,
            headers=internal_headers(config["SERVICE_TOKEN"]),
            timeout=timeout or config["HTTP_TIMEOUT"],
        )
    except requests.RequestException as exc:
        raise ServiceUnavailable(service, f"GET {path} unreachable: {exc}") from exc
    if response.status_code == 404 and missing_ok:
        return None
    if response.status_code != 200:
        raise ServiceUnavailable(service, f"GET {path} answered {response.status_code}")
    try:
        return schema.load(response.json())
    except (ValueError, ma.ValidationError) as exc:
        raise ServiceUnavailable(service, f"GET {path} answered off contract: {exc}") from exc


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
