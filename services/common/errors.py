"""One error contract: RFC 9457 ``application/problem+json`` for every status.

Views raise :func:`abort` (or any werkzeug ``HTTPException``); :func:`problem_response`
turns it into ``{"type", "title", "status", "detail", "code", "errors"?, "request_id"}``.
"""

from __future__ import annotations

import errno
import logging
from http import HTTPStatus
from typing import Any, NoReturn

from flask import Flask, Response, g, json
from gunicorn.http.errors import NoMoreData, ParseException
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.exc import DBAPIError, IntegrityError
from werkzeug.exceptions import HTTPException, InternalServerError

PROBLEM_MIMETYPE = "application/problem+json"
# A problem lists the messages of at most this many fields: a body with thousands of
# wrong values must not make an answer thousands of times its size.
MAX_FIELD_ERRORS = 50

DEFAULT_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    422: "validation_error",
    428: "precondition_required",
    429: "rate_limited",
    500: "internal_error",
    502: "service_unavailable",
    503: "service_unavailable",
    504: "service_unavailable",
    507: "insufficient_storage",
}

log = logging.getLogger(__name__)


class ProblemError(HTTPException):
    """An HTTP error carrying the platform's stable ``code`` and field ``errors``."""

    def __init__(
        self,
        status: int,
        detail: str | None = None,
        *,
        code: str | None = None,
        errors: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(description=detail)
        self.code = status
        self.problem_code = code
        self.errors = errors
        self.extra_headers = headers or {}
        self.extra = extra or {}


class ServiceUnavailable(Exception):
    """Another service gave no usable answer to an internal call: unreachable, an
    unexpected status, or a body its contract schema does not load. A request answers
    503 ``service_unavailable`` with ``Retry-After``; a job retries."""

    def __init__(self, service: str, reason: str) -> None:
        super().__init__(service, reason)
        self.service = service
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.service}: {self.reason}"


def abort(
    status: int,
    detail: str | None = None,
    *,
    code: str | None = None,
    errors: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> NoReturn:
    """Stop the request with a problem response."""
    raise ProblemError(status, detail, code=code, errors=errors, headers=headers, extra=extra)


class StorageFull(Exception):
    """The volume a file was being written to is full (or its quota used up); the
    partial file is gone. Answered 507 ``insufficient_storage`` with this message."""


def is_disk_full(error: BaseException) -> bool:
    """Whether ``error`` is a write refused for lack of space (ENOSPC, EDQUOT)."""
    return isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT)


def flatten_messages(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn marshmallow/webargs nested messages into ``{"field.sub": [msg, ...]}``."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            flat.update(flatten_messages(value, name))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        flat[prefix or "_schema"] = list(messages)
    elif isinstance(messages, list):
        for index, value in enumerate(messages):
            flat.update(flatten_messages(value, f"{prefix}.{index}" if prefix else str(index)))
    else:
        flat[prefix or "_schema"] = [str(messages)]
    return flat


def _webargs_errors(data: dict[str, Any]) -> dict[str, list[str]] | None:
    """Field errors from webargs' ``{"messages": {location: {...}}}`` payload."""
    messages = data.get("messages")
    if not messages:
        return None
    merged: dict[str, list[str]] = {}
    for location, fields in messages.items():
        if isinstance(fields, dict):
            merged.update(flatten_messages(fields))
        else:
            merged.update(flatten_messages(fields, location))
    return merged


def problem_body(
    status: int,
    detail: str | None,
    code: str | None = None,
    errors: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The problem+json document for ``status``."""
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail or title,
        "code": code or DEFAULT_CODES.get(status, "error"),
    }
    if errors:
        if len(errors) > MAX_FIELD_ERRORS:
            body["detail"] += (
                f" ({len(errors)} fields failed; the first {MAX_FIELD_ERRORS} are listed.)"
            )
            errors = dict(list(errors.items())[:MAX_FIELD_ERRORS])
        body["errors"] = errors
    if extra:
        body.update(extra)
    body["request_id"] = g.get("request_id") if g else None
    return body


def problem_response(error: HTTPException) -> Response:
    """Render any ``HTTPException`` as problem+json, keeping its headers (Allow, ...)."""
    status = error.code or 500
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    detail = error.description
    code = None
    errors = None
    extra: dict[str, Any] = {}
    if isinstance(error, ProblemError):
        code, errors, extra = error.problem_code, error.errors, error.extra
        headers.update(error.extra_headers)
    data = getattr(error, "data", None)
    if isinstance(data, dict):
        errors = data.get("errors") or _webargs_errors(data) or errors
        detail = data.get("message") or detail
        headers.update(data.get("headers") or {})
        if status == 400 and "json" in (data.get("messages") or {}):
            detail, errors = "The request body is not valid JSON.", None
        elif status == 422 and errors:
            detail = "The request did not validate."
    if status == 401:
        headers.setdefault("WWW-Authenticate", "Bearer")
    body = problem_body(status, detail, code, errors, extra)
    return Response(json.dumps(body), status=status, headers=headers, mimetype=PROBLEM_MIMETYPE)


def _handle_http_exception(error: HTTPException) -> Response:
    if error.code and error.code >= 500:
        log.error("request failed with %s: %s", error.code, error.description)
    return problem_response(error)


def _try_again_shortly(detail: str) -> Response:
    """503 ``service_unavailable`` with ``Retry-After``: something this request needs is
    away for now."""
    return problem_response(
        ProblemError(503, detail, code="service_unavailable", headers={"Retry-After": "5"})
    )


def _handle_database_error(error: DBAPIError) -> Response:
    if isinstance(error, IntegrityError):
        log.warning("integrity error reached the error handler: %s", error.orig)
        return problem_response(
            ProblemError(409, "The change conflicts with existing data.", code="conflict")
        )
    log.error("database unavailable: %s", error.orig)
    return _try_again_shortly("The database is unavailable; try again shortly.")


def _handle_redis_down(error: RedisConnectionError) -> Response:
    log.error("redis unavailable: %s", error)
    return _try_again_shortly("A backing service is unavailable; try again shortly.")


def _handle_service_unavailable(error: ServiceUnavailable) -> Response:
    log.warning("service unavailable: %s", error)
    return _try_again_shortly(f"The {error.service} service is unavailable; try again shortly.")


def _handle_unreadable_body(error: Exception) -> Response:
    # gunicorn reads the body lazily: a malformed chunk or a client gone mid-body is
    # raised wherever the body is read, and is the client's fault, not a 500.
    log.warning("request body unreadable: %s", error)
    return problem_response(ProblemError(400, "The request body could not be read."))


def _handle_unexpected(error: Exception) -> Response:
    log.exception("unhandled error")
    return problem_response(InternalServerError("An unexpected error occurred."))


def _handle_storage_full(error: StorageFull) -> Response:
    log.error("storage full: %s (%s)", error, error.__cause__)
    return problem_response(ProblemError(507, str(error), code="insufficient_storage"))


def init_app(app: Flask) -> None:
    """Register the handlers so every error the app can raise becomes problem+json."""
    app.register_error_handler(HTTPException, _handle_http_exception)
    app.register_error_handler(StorageFull, _handle_storage_full)
    app.register_error_handler(DBAPIError, _handle_database_error)
    app.register_error_handler(RedisConnectionError, _handle_redis_down)
    app.register_error_handler(ServiceUnavailable, _handle_service_unavailable)
    app.register_error_handler(ParseException, _handle_unreadable_body)
    app.register_error_handler(NoMoreData, _handle_unreadable_body)
    app.register_error_handler(Exception, _handle_unexpected)
