"""Wiring every service shares: ``init_service(app)`` and ``make_api(app)``."""

from __future__ import annotations

import http
from typing import Any

import marshmallow as ma
from apispec import BasePlugin
from flask import Flask, Response, current_app, request
from flask_smorest import Api
from flask_smorest.spec import prepare_response

from services.common import errors, health, logs, metrics
from services.common.config import (
    DEFAULT_MAX_JSON_DEPTH,
    DEFAULT_MAX_JSON_VALUES,
    DEFAULT_TRUSTED_PROXIES,
)
from services.common.errors import PROBLEM_MIMETYPE, abort, problem_response
from services.common.proxies import TrustedProxyFix, parse_trusted_proxies
from services.common.scopes import RequiredScopePlugin

BODY_METHODS = {"POST", "PUT", "PATCH"}


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details, as every error response is shaped."""

    type = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    status = ma.fields.Integer(required=True)
    detail = ma.fields.String(required=True)
    code = ma.fields.String(required=True, metadata={"description": "Stable error code"})
    errors = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.List(ma.fields.String()),
        metadata={"description": "Messages per field"},
    )
    request_id = ma.fields.String(allow_none=True)


def standard_errors(method: str, path: str, operation: dict) -> list[int]:
    """The problem+json statuses any operation of this shape can answer on the platform.

    Every operation: 429 (rate limits) and 503 (database or Redis away, nginx with no
    upstream, or ``auth_unavailable``). With parameters: 414 from nginx for a request
    line over 8 KiB. Authenticated ones: 401 and 403. With a path parameter: 404, and
    400 from the gateway for a value no path may hold (a dot segment, an encoded slash,
    ...: ``nginx/routes.conf``). With a JSON body: 400 (malformed, too deep, too many
    values), 413, 415 and 422. PUT, PATCH and DELETE: 412 (``If-Match``). Anything else
    a view answers (409, ...) it documents itself with ``@blp.alt_response``.
    """
    statuses = {429, 503}
    if operation.get("parameters") or "{" in path:
        statuses.add(414)
    if operation.get("security") != []:
        statuses |= {401, 403}
    if "{" in path:
        statuses |= {400, 404}
    if "requestBody" in operation:
        statuses |= {400, 413, 415, 422}
    if method in ("put", "patch", "delete"):
        statuses.add(412)
    return sorted(statuses)


class StandardErrorsPlugin(BasePlugin):
    """Documents :func:`standard_errors` on every operation, so a client (and
    schemathesis) knows each status it can get instead of a catch-all ``default``."""

    def operation_helper(self, path=None, operations=None, **kwargs) -> None:
        for method, operation in (operations or {}).items():
            responses = operation.setdefault("responses", {})
            for status in standard_errors(method, path or "", operation):
                responses.setdefault(str(status), http.HTTPStatus(status).name)


class PlatformApi(Api):
    """flask-smorest with problem+json errors, documented per status (no ``default``)."""

    ERROR_SCHEMA = ProblemSchema
    DEFAULT_ERROR_RESPONSE_NAME = None

    def handle_http_exception(self, error):  # type: ignore[override]
        return problem_response(error)

    def _register_responses(self) -> None:
        for status in http.HTTPStatus:
            response: dict = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_MIMETYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Error", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_MIMETYPE)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


def _require_json_body() -> None:
    if request.method not in BODY_METHODS or not request.content_length:
        return
    if request.is_json:
        return
    if request.mimetype not in current_app.config.get("EXTRA_BODY_TYPES", ()):
        abort(415, "Send the request body as application/json.", code="unsupported_media_type")


def json_shape_exceeds(document: Any, max_depth: int, max_values: int) -> str | None:
    """What makes a decoded JSON document too big to handle: containers nested deeper
    than ``max_depth`` or more than ``max_values`` values in all; None when neither.
    Walked level by level, never recursively, so no document can exhaust the stack."""
    level = [document]
    depth = values = 0
    while level:
        values += len(level)
        if values > max_values:
            return f"more than {max_values} values"
        containers = [item for item in level if isinstance(item, (dict, list))]
        if containers:
            depth += 1
            if depth > max_depth:
                return f"containers nested more than {max_depth} deep"
        level = [
            child
            for item in containers
            for child in (item.values() if isinstance(item, dict) else item)
        ]
    return None


def _refuse_oversized_json() -> None:
    # A decoder or a schema that recurses per level (the JSON decoder itself, marshmallow,
    # the NUL check below) must never see a document deep enough to exhaust the stack,
    # and no schema should be made to walk hundreds of thousands of values.
    if request.method not in BODY_METHODS or not request.is_json:
        return
    config = current_app.config
    try:
        document = request.get_json(silent=True)
    except RecursionError:
        problem = f"containers nested more than {config['MAX_JSON_DEPTH']} deep"
    else:
        problem = json_shape_exceeds(document, config["MAX_JSON_DEPTH"], config["MAX_JSON_VALUES"])
    if problem:
        abort(400, f"The JSON body is too large to handle: {problem}.", code="bad_request")


def _nul_fields(value: Any, name: str = "") -> list[str]:
    """Where in a decoded JSON document (or query) a string holds a NUL character."""
    if isinstance(value, str):
        return [name or "_schema"] if "\x00" in value else []
    if isinstance(value, dict):
        return [
            found
            for key, item in value.items()
            for found in _nul_fields(key, name or "_schema") + _nul_fields(item, _join(name, key))
        ]
    if isinstance(value, list):
        return [
            f for index, item in enumerate(value) for f in _nul_fields(item, _join(name, index))
        ]
    return []


def _join(prefix: str, key: object) -> str:
    return f"{prefix}.{key}" if prefix else str(key)


def _refuse_nul_characters() -> None:
    # PostgreSQL text cannot hold NUL: refuse it up front as a validation error instead
    # of failing in the driver (a 500) wherever a string reaches the database.
    fields = [f"query.{name}" for name, value in request.args.items(multi=True) if "\x00" in value]
    if request.method in BODY_METHODS and request.is_json:
        fields += _nul_fields(request.get_json(silent=True))
    if fields:
        message = "Must not contain NUL characters."
        abort(422, "The request did not validate.", errors={f: [message] for f in fields})


def _retry_after_only_when_due(response: Response) -> Response:
    # Flask-Limiter sends Retry-After on every response; it means something only on 429/503.
    if response.status_code not in (429, 503):
        response.headers.pop("Retry-After", None)
    return response


def init_service(app: Flask) -> None:
    """Request ids and JSON logs, problem+json errors, metrics, health, and forwarding
    headers believed from ``TRUSTED_PROXIES`` only."""
    trusted = parse_trusted_proxies(app.config.get("TRUSTED_PROXIES", DEFAULT_TRUSTED_PROXIES))
    app.wsgi_app = TrustedProxyFix(app.wsgi_app, trusted)  # type: ignore[method-assign]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    logs.init_app(app)
    errors.init_app(app)
    metrics.init_app(app)
    health.init_app(app)
    app.config.setdefault("MAX_JSON_DEPTH", DEFAULT_MAX_JSON_DEPTH)
    app.config.setdefault("MAX_JSON_VALUES", DEFAULT_MAX_JSON_VALUES)
    app.before_request(_require_json_body)
    app.before_request(_refuse_oversized_json)
    app.before_request(_refuse_nul_characters)
    app.after_request(_retry_after_only_when_due)


def make_api(app: Flask) -> PlatformApi:
    """The service's flask-smorest Api, with bearer auth documented as the default and
    each operation's scope as ``x-required-scope``."""
    app.config.setdefault(
        "API_SPEC_OPTIONS",
        {
            "components": {
                "securitySchemes": {
                    "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
                }
            },
            "security": [{"bearerAuth": []}],
        },
    )
    plugins = [StandardErrorsPlugin(), RequiredScopePlugin(app)]
    return PlatformApi(app, spec_kwargs={"extra_plugins": plugins})
