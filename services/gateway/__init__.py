"""Fallback gateway for machines without nginx (``scripts/run`` uses nginx when present).

It routes by the same table nginx uses, parsed from ``nginx/routes.conf`` and
``nginx/upstreams.conf``, so the two cannot drift: ``/api/...`` to the owning service,
``/health/<name>`` to a service's readiness, ``/health`` to the aggregate health
(``services.gateway.health``), ``/internal/`` and ``/metrics`` refused,
request ids set, bodies limited, and every error problem+json.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import requests
from flask import Flask, Response, g, request, stream_with_context
from werkzeug.exceptions import NotFound

from services.common import errors, logs
from services.common.config import REPO_ROOT, env
from services.common.errors import abort
from services.common.http import http_session

NGINX_DIR = Path(REPO_ROOT, "nginx")
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


@dataclass(frozen=True)
class RouteTable:
    api: list[tuple[re.Pattern[str], str]]
    health: dict[str, str]
    upstreams: dict[str, str]

    def api_upstream(self, path: str) -> str | None:
        return next((name for pattern, name in self.api if pattern.search(path)), None)


def _map_block(text: str, variable: str) -> list[tuple[str, str]]:
    block = re.search(r"map\s+\$uri\s+\$" + variable + r"\s*\{(.*?)\n\}", text, re.S)
    entries = []
    for line in (block.group(1) if block else "").splitlines():
        line = line.split("#", 1)[0].strip().rstrip(";")
        if line and not line.startswith("default"):
            key, name = line.rsplit(None, 1)
            entries.append((key, name))
    return entries


def load_route_table(overrides: str = "") -> RouteTable:
    """Parse nginx's route table; ``overrides`` is ``name=host:port,...``."""
    routes = (NGINX_DIR / "routes.conf").read_text()
    api = [(re.compile(key.lstrip("~")), name) for key, name in _map_block(routes, "api_upstream")]
    health = dict(_map_block(routes, "health_upstream"))
    upstreams = {}
    text = (NGINX_DIR / "upstreams.conf").read_text()
    for name, port in re.findall(r"upstream\s+(\w+)\s*\{[^}]*?server\s+[\w.-]+:(\d+)", text, re.S):
        upstreams[name] = f"127.0.0.1:{port}"
    for item in filter(None, (part.strip() for part in overrides.split(","))):
        name, _, address = item.partition("=")
        upstreams[name] = address
    return RouteTable(api, health, upstreams)


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
    def _limit_body() -> None:
        limit = upload_limit if request.path.endswith("/attachments") else 1024 * 1024
        length = request.content_length or 0
        if length > limit:
            if length <= DRAIN_LIMIT:
                # Read what the client is sending so it sees the 413, not a reset.
                while request.stream.read(64 * 1024):
                    pass
            abort(413, "The request body is too large.", code="payload_too_large")

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
            name, target = table.api_upstream(full), full
        elif full in table.health:
            name, target = table.health[full], "/health/ready"
        elif full == "/health":
            name, target = "health", "/health"
        else:
            raise NotFound("There is no such endpoint.")
        if name is None:
            raise NotFound("There is no such endpoint.")
        return _forward(table.upstreams[name], target)

    return app


def _forward(address: str, path: str) -> Response:
    headers = {k: v for k, v in request.headers if k.lower() not in HOP_BY_HOP}
    headers["X-Request-ID"] = g.request_id
    headers["X-Forwarded-For"] = ", ".join(
        filter(None, [request.headers.get("X-Forwarded-For"), request.remote_addr])
    )
    headers["X-Forwarded-Proto"] = request.scheme
    headers["X-Forwarded-Host"] = request.host
    url = f"http://{address}{path}"
    if request.query_string:
        url += "?" + request.query_string.decode("latin-1")
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
