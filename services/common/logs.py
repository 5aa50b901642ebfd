"""JSON-lines logging and request ids.

Every log line is one JSON object on stdout with the time, level, service, request id,
user id, and for the access line method, path, status, duration and the client's address
(as the platform's proxy saw it: services.common.proxies). Request ids come
from a sane incoming ``X-Request-ID`` (nginx sets one) or are made here, and go back on
the response.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime

from flask import Flask, Response, g, has_request_context, request

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
_access_log = logging.getLogger("access")
ACCESS_FIELDS = ("method", "path", "status", "duration_ms", "remote_addr", "request_id", "user_id")


def current_request_id() -> str | None:
    """The request id of the request being served, if any."""
    return g.get("request_id") if has_request_context() else None


class JsonFormatter(logging.Formatter):
    """Formats a record as a single JSON object."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if has_request_context():
            entry["request_id"] = g.get("request_id")
            principal = g.get("principal")
            entry["user_id"] = principal.id if principal else None
        for key in ACCESS_FIELDS:
            if key in record.__dict__:
                entry[key] = record.__dict__[key]
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(service: str, level: str = "INFO") -> None:
    """Send every logger's records to stdout as JSON lines (idempotent)."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if getattr(h, "_platform", False)), None)
    if handler is None:
        handler = logging.StreamHandler(sys.stdout)
        handler._platform = True  # type: ignore[attr-defined]
        root.handlers = [handler]
    handler.setFormatter(JsonFormatter(service))
    root.setLevel(level.upper())


def _start_request() -> None:
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = incoming if _SANE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def _finish_request(response: Response) -> Response:
    response.headers[REQUEST_ID_HEADER] = g.get("request_id", "")
    started = g.get("request_started")
    duration_ms = round((time.perf_counter() - started) * 1000, 2) if started else None
    principal = g.get("principal")
    _access_log.info(
        "%s %s %s",
        request.method,
        request.path,
        response.status_code,
        extra={
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": duration_ms,
            "remote_addr": request.remote_addr,
            "user_id": principal.id if principal else None,
        },
    )
    return response


def init_app(app: Flask) -> None:
    """Configure JSON logging and request-id handling for ``app``."""
    configure_logging(app.config["SERVICE_NAME"], app.config.get("LOG_LEVEL", "INFO"))
    app.before_request(_start_request)
    app.after_request(_finish_request)
