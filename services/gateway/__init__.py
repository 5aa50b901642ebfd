"""Fallback gateway for machines without nginx (``scripts/run`` uses nginx when present).

It routes by the same table nginx uses, read from ``nginx/routes.conf`` and
``nginx/upstreams.conf`` by ``services.gateway.routes``, so the two cannot drift:
``/api/...`` to the owning service, ``/health/<name>`` to a service's readiness,
``/health`` to the aggregate health (``services.gateway.health``), ``/internal/`` and
``/metrics`` refused, request ids set, bodies limited, and every error problem+json.

A request target nginx refuses (dot segments, encoded slashes, ...: the ``$refused_path``
map of ``nginx/routes.conf``) is refused here too, with the same 400, before routing;
what is forwarded is the path exactly as the client sent it (as nginx does), so the
service sees the path that was routed and the HTTP client has nothing to resolve.

This is the edge: the client's own forwarding headers are dropped, and the service is
told the address this gateway saw (``X-Forwarded-For``), never a client-supplied chain.

It runs under gevent workers, like the live stream it passes on: a Server-Sent Events
response goes out chunk by chunk as it comes, and a WebSocket upgrade is tunnelled (the
request passed on as it came, then bytes both ways until either side closes).
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from flask import Flask, Response, g, request, stream_with_context
from werkzeug.exceptions import NotFound

from services.common import errors, logs
from services.common.config import env
from services.common.errors import abort
from services.common.http import http_session
from services.gateway.routes import load_route_table

DRAIN_LIMIT = 64 * 1024 * 1024
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "content-length",
    "host",
}
# Set by this gateway only (the service trusts them from its proxies): what the client
# sent under these names is dropped.
FORWARDING = {
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    "x-forwarded-port",
    "x-forwarded-prefix",
    "x-real-ip",
}
REFUSED_PATH = (
    "The path has a dot segment, an empty segment, a backslash or an encoded dot, slash, "
    "backslash, percent sign or control character."
)


def create_app() -> Flask:
    """Build the fallback gateway."""
    app = Flask(__name__)
    app.config["SERVICE_NAME"] = "gateway"
    app.config["LOG_LEVEL"] = env("LOG_LEVEL", "INFO")
    upload_limit = env("MAX_UPLOAD_MB", 25, int) * 1024 * 1024
    table = load_route_table(os.environ.get("GATEWAY_UPSTREAMS", ""))
    logs.init_app(app)
    errors.init_app(app)

    @app.before_request
    def _refuse_hostile_paths() -> None:
        # Before routing: werkzeug would otherwise redirect a path with "//" itself.
        if table.is_refused(request_target()):
            abort(400, REFUSED_PATH, code="bad_request")

    @app.before_request
    def _limit_body() -> None:
        uploading = request.path.endswith(("/attachments", "/versions"))
        limit = upload_limit if uploading else 1024 * 1024
        length = request.content_length or 0
        if length > limit:
            if length <= DRAIN_LIMIT:
                # Read what the client is sending so it sees the 413, not a reset.
                while request.stream.read(64 * 1024):
                    pass
            abort(413, "The request body is too large.", code="payload_too_large")

    # werkzeug matches an Upgrade: websocket request only to a rule marked websocket=True.
    @app.route("/<path:path>", endpoint="upgrade", methods=["GET"], websocket=True)
    @app.route(
        "/",
        defaults={"path": ""},
        methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
    )
    @app.route("/<path:path>", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
    def proxy(path: str) -> Response:
        """Forward the request to the service that owns the path."""
        full = "/" + path
        if full.startswith("/api/"):
            # Routed by the decoded path, forwarded as sent (still percent-encoded).
            name, target = table.api_upstream(full), urlsplit(request_target()).path
        elif full in table.health:
            name, target = table.health[full], "/health/ready"
        elif full == "/health":
            name, target = "health", "/health"
        else:
            raise NotFound("There is no such endpoint.")
        if name is None:
            raise NotFound("There is no such endpoint.")
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return _tunnel(table.upstreams[name], target)
        return _forward(table.upstreams[name], target)

    return app


def request_target() -> str:
    """The request target as the client sent it (gunicorn's ``RAW_URI``, the werkzeug
    server's ``REQUEST_URI``): path and query, still percent-encoded."""
    environ = request.environ
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        return raw
    query = environ.get("QUERY_STRING")
    path = quote(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""), safe="/")
    return path + ("?" + query if query else "")


def _forwarded_headers() -> dict[str, str]:
    headers = {
        k: v
        for k, v in request.headers
        if k.lower() not in HOP_BY_HOP and k.lower() not in FORWARDING
    }
    headers["X-Request-ID"] = g.request_id
    headers["X-Forwarded-For"] = request.remote_addr or ""
    headers["X-Forwarded-Proto"] = request.scheme
    headers["X-Forwarded-Host"] = request.host
    return headers


def _target(path: str) -> str:
    if request.query_string:
        return path + "?" + request.query_string.decode("latin-1")
    return path


class _Tunnelled(Response):
    """The connection now belongs to the tunnel: gunicorn must write nothing more."""

    def __call__(self, environ, start_response):  # type: ignore[override]
        raise StopIteration()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(64 * 1024):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def _tunnel(address: str, path: str) -> Any:
    """A WebSocket: the upgrade request passed on with the gateway's headers, then the
    bytes of both sides relayed until either closes."""
    client = request.environ.get("gunicorn.socket")
    if client is None:
        abort(501, "WebSockets need the gateway under gunicorn.", code="not_implemented")
    host, _, port = address.rpartition(":")
    try:
        upstream = socket.create_connection((host, int(port)), timeout=2)
    except OSError:
        abort(
            503,
            "The service is unavailable; try again shortly.",
            code="service_unavailable",
            headers={"Retry-After": "5"},
        )
    upstream.settimeout(None)
    headers = {**_forwarded_headers(), "Host": request.host}
    headers.update(Upgrade="websocket", Connection="Upgrade")
    head = [f"GET {_target(path)} HTTP/1.1", *(f"{k}: {v}" for k, v in headers.items())]
    upstream.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
    back = threading.Thread(target=_pump, args=(upstream, client), daemon=True)
    back.start()
    _pump(client, upstream)
    back.join()
    upstream.close()
    return _Tunnelled()


def _forward(address: str, path: str) -> Response:
    headers = _forwarded_headers()
    url = f"http://{address}{_target(path)}"
    try:
        upstream = http_session().request(
            request.method,
            url,
            headers=headers,
            data=request.stream,
            stream=True,
            allow_redirects=False,
            timeout=(2, 30),
        )
    except requests.ConnectionError:
        abort(
            503,
            "The service is unavailable; try again shortly.",
            code="service_unavailable",
            headers={"Retry-After": "5"},
        )
    except requests.Timeout:
        abort(504, "The service did not answer in time.", code="service_unavailable")
    response_headers = [
        (k, v)
        for k, v in upstream.raw.headers.items()
        if k.lower() not in HOP_BY_HOP and k.lower() != "x-request-id"
    ]
    return Response(
        stream_with_context(upstream.raw.stream(64 * 1024, decode_content=False)),
        status=upstream.status_code,
        headers=response_headers,
    )
