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

It is on every request's path when nginx is missing, so forwarding costs as little as
it can: one urllib3 connection pool per upstream and worker process, made on first use
and kept (keep-alive connections reused, no per-request session or URL parsing), the
request body streamed up as it is read (``Content-Length`` kept, or chunked when the
client sent it chunked; none at all when there is no body), and the answer streamed
down as it comes, with the upstream's ``Content-Length`` when it sent one.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlsplit

import urllib3
from flask import Flask, Response, g, request, stream_with_context
from urllib3.exceptions import HTTPError, ReadTimeoutError
from werkzeug.exceptions import NotFound

from services.common import errors, logs
from services.common.config import env
from services.common.errors import abort
from services.gateway.routes import load_route_table

DRAIN_LIMIT = 64 * 1024 * 1024
CHUNK = 64 * 1024
UPSTREAM_TIMEOUT = urllib3.Timeout(connect=2, read=30)
# Connections kept per upstream and worker; more are opened when needed (a gevent worker
# serves many requests at once) and closed after use instead of waiting for a free one.
POOL_SIZE = 64
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


_pools: dict[tuple[int, str], urllib3.HTTPConnectionPool] = {}
_pools_lock = threading.Lock()


def upstream_pool(address: str) -> urllib3.HTTPConnectionPool:
    """This process's keep-alive connection pool to ``address`` (``host:port``), made
    on first use (and again after a fork: a child never shares its parent's sockets)."""
    key = (os.getpid(), address)
    pool = _pools.get(key)
    if pool is None:
        with _pools_lock:
            pool = _pools.get(key)
            if pool is None:
                host, _, port = address.rpartition(":")
                pool = urllib3.HTTPConnectionPool(
                    host, int(port), maxsize=POOL_SIZE, block=False, timeout=UPSTREAM_TIMEOUT
                )
                for stale in [k for k in _pools if k[0] != key[0]]:
                    del _pools[stale]
                _pools[key] = pool
    return pool


def _request_body() -> tuple[Any, bool]:
    """What to send upstream as the body, and whether to send it chunked: the client's
    body as a stream (its ``Content-Length`` is passed on), its chunked body chunk by
    chunk, or nothing."""
    if request.content_length is not None:
        return (request.stream if request.content_length else None), False
    if "chunked" in request.headers.get("Transfer-Encoding", "").lower():
        # (gunicorn marks every request's input terminated, with a body or not.)
        stream = request.stream
        return iter(lambda: stream.read(CHUNK), b""), True
    return None, False


def _relay(upstream: urllib3.BaseHTTPResponse) -> Iterator[bytes]:
    """The upstream's answer as it comes; its connection back to the pool when read to
    the end, closed when the client went away first."""
    complete = False
    try:
        yield from upstream.stream(CHUNK, decode_content=False)
        complete = True
    finally:
        if not complete:
            upstream.close()
        upstream.release_conn()


def _forward(address: str, path: str) -> Response:
    headers = _forwarded_headers()
    body, chunked = _request_body()
    if body is not None and not chunked:
        headers["Content-Length"] = str(request.content_length)
    try:
        upstream = upstream_pool(address).urlopen(
            request.method,
            _target(path),
            body=body,
            headers=headers,
            chunked=chunked,
            retries=False,
            redirect=False,
            assert_same_host=False,
            preload_content=False,
            decode_content=False,
        )
    except ReadTimeoutError:
        abort(504, "The service did not answer in time.", code="service_unavailable")
    except (HTTPError, OSError):
        # Refused, reset, or no connection within the connect timeout.
        abort(
            503,
            "The service is unavailable; try again shortly.",
            code="service_unavailable",
            headers={"Retry-After": "5"},
        )
    response_headers = [
        (k, v)
        for k, v in upstream.headers.items()
        if k.lower() not in HOP_BY_HOP and k.lower() != "x-request-id"
    ]
    length = upstream.headers.get("Content-Length")
    if length is not None and "Transfer-Encoding" not in upstream.headers:
        # Passed on as nginx does: the answer goes out as is, not re-framed in chunks.
        response_headers.append(("Content-Length", length))
    if request.method == "HEAD" or upstream.status in (204, 304) or upstream.status < 200:
        # No body will be read: the connection goes back to the pool right away.
        upstream.drain_conn()
        upstream.release_conn()
        return Response(iter(()), status=upstream.status, headers=response_headers)
    return Response(
        stream_with_context(_relay(upstream)),
        status=upstream.status,
        headers=response_headers,
    )
