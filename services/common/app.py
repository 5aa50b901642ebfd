"""Wiring every service shares: ``init_service(app)`` and ``make_api(app)``."""

from __future__ import annotations

import http

import marshmallow as ma
from flask import Flask, Response, current_app, request
from flask_smorest import Api
from flask_smorest.spec import prepare_response
from werkzeug.middleware.proxy_fix import ProxyFix

from services.common import errors, health, logs, metrics
from services.common.errors import PROBLEM_MIMETYPE, abort, problem_response

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


class PlatformApi(Api):
    """flask-smorest with problem+json errors, documented as such."""

    ERROR_SCHEMA = ProblemSchema

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


def _retry_after_only_when_due(response: Response) -> Response:
    # Flask-Limiter sends Retry-After on every response; it means something only on 429/503.
    if response.status_code not in (429, 503):
        response.headers.pop("Retry-After", None)
    return response


def init_service(app: Flask) -> None:
    """Request ids and JSON logs, problem+json errors, metrics, health, proxy headers."""
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1, x_prefix=1)  # type: ignore[method-assign]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    logs.init_app(app)
    errors.init_app(app)
    metrics.init_app(app)
    health.init_app(app)
    app.before_request(_require_json_body)
    app.after_request(_retry_after_only_when_due)


def make_api(app: Flask) -> PlatformApi:
    """The service's flask-smorest Api, with bearer auth documented as the default."""
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
    return PlatformApi(app)
