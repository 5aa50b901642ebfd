"""``/api/stream``: live updates as Server-Sent Events or over a WebSocket, and the
tickets that let a browser open them without a token in the URL (docs/api.md, "Live
updates")."""

from __future__ import annotations

from typing import Any

import flask
from flask import Response, current_app, g, request
from flask.views import MethodView
from flask_smorest import Blueprint

from services.common.auth import (
    Principal,
    authenticate,
    bearer_token,
    declare_scope,
    require_auth,
    require_scope,
)
from services.common.errors import abort
from services.common.live_log import parse_id
from services.common.redis_store import get_redis
from services.notification.stream import tickets
from services.notification.stream.schemas import ResumeHeaderSchema, StreamArgsSchema, TicketSchema
from services.notification.stream.session import StreamSession, make_filter
from services.notification.stream.wire import EventStreamBody, serve_websocket

blp = Blueprint(
    "stream",
    __name__,
    url_prefix="/api/stream",
    description="Live updates: every event you may see, as it happens.",
)

QUERY_PARAMETERS = frozenset(StreamArgsSchema().fields)

SSE_RESPONSE = {
    "description": (
        "An endless text/event-stream: `id: <log id>`, `event: <type>`, `data: <the "
        "event envelope>` per event; `event: reset` (refetch), `event: error` (a "
        "problem+json body; the stream ends) and a comment line every "
        "STREAM_HEARTBEAT_SECONDS."
    ),
    # Each event of the stream (as OpenAPI 3.2's itemSchema would put it).
    "content": {
        "text/event-stream": {
            "schema": {
                "type": "object",
                "required": ["event", "data"],
                "properties": {
                    "event": {"type": "string", "description": "An event type, reset or error"},
                    "id": {"type": "string", "description": "The event's position in the log"},
                    "data": {"type": "string", "description": "JSON: the envelope, or a body"},
                    "retry": {"type": "integer"},
                },
            }
        }
    },
}
WEBSOCKET_RESPONSE = {
    "description": (
        'Switching Protocols: a WebSocket of JSON messages {"event", "id"?, "data"}; send '
        '{"subscribe": {"project_id"?, "types"?}} or {"unsubscribe": {...}} to change '
        "what it carries."
    )
}


# A stream carries what the activity feed shows, as it happens.
STREAM_SCOPE = "activities:read"


def _refuse_unknown_parameters() -> None:
    unknown = sorted(set(request.args) - QUERY_PARAMETERS)
    if unknown:
        abort(
            422,
            "The request did not validate.",
            errors={f"query.{name}": ["Unknown parameter."] for name in unknown},
        )


def _caller(ticket: str | None) -> tuple[Principal, str]:
    """The caller and their token: from the Authorization header, else from a ticket."""
    token = bearer_token()
    if token is None and ticket is not None:
        token = tickets.redeem(get_redis(), ticket)
        if token is None:
            abort(
                401,
                "The ticket is unknown, expired or already used; ask for a new one.",
                code="invalid_ticket",
            )
    if token is None:
        abort(
            401,
            "Send a bearer token, or a ticket from POST /api/stream/tickets.",
            code="unauthorized",
        )
    principal = authenticate(token)
    require_scope(STREAM_SCOPE)
    return principal, token


def _open(args: dict[str, Any], headers: dict[str, Any]) -> StreamSession:
    """Every check a stream passes before it starts (problem+json otherwise)."""
    _refuse_unknown_parameters()
    principal, token = _caller(args.get("ticket"))
    resume = headers.get("last_event_id") or args.get("last_event_id")
    session = StreamSession(
        current_app._get_current_object(),  # type: ignore[attr-defined]
        principal,
        token,
        [make_filter(args.get("project_id"), args.get("types"))],
        parse_id(resume) if resume else None,
        g.get("request_id"),
    )
    session.open()
    return session


def _stream_operation(method: Any) -> Any:
    """Both streams take the same query and ``Last-Event-ID`` header, and refuse the
    same way before they start (404 for a project filter, 422 for the rest)."""
    for decorate in (
        blp.alt_response(422, response="UNPROCESSABLE_ENTITY"),
        blp.alt_response(404, response="NOT_FOUND"),
        blp.arguments(ResumeHeaderSchema, location="headers"),
        blp.arguments(StreamArgsSchema, location="query"),
    ):
        method = decorate(method)
    return method


@blp.route("/tickets")
class StreamTickets(MethodView):
    decorators = [require_auth(scope=STREAM_SCOPE)]

    @blp.response(201, TicketSchema)
    def post(self):
        """A single-use ticket opening one stream within STREAM_TICKET_SECONDS, for clients
        that cannot send headers (EventSource, browser WebSockets)."""
        ttl = current_app.config["STREAM_TICKET_SECONDS"]
        ticket = tickets.issue(get_redis(), bearer_token() or "", ttl)
        return {"ticket": ticket, "expires_in": ttl}, 201, {"Cache-Control": "no-store"}


@blp.route("")
class EventStream(MethodView):
    @blp.doc(responses={"200": SSE_RESPONSE})
    @_stream_operation
    @declare_scope(STREAM_SCOPE)
    def get(self, args, headers):
        """Every event you may see, as Server-Sent Events; resumes after Last-Event-ID."""
        session = _open(args, headers)
        response = Response(EventStreamBody(session, request.environ), mimetype="text/event-stream")
        response.headers["Cache-Control"] = "no-cache, no-store"
        # nginx must pass each event on at once (it is told so in its configuration too).
        response.headers["X-Accel-Buffering"] = "no"
        return response


class _Upgraded(Response):
    """What a view returns once it has served a WebSocket on the raw connection: the
    server must write nothing more (gunicorn drops the connection on StopIteration)."""

    def __call__(self, environ, start_response):  # type: ignore[override]
        raise StopIteration()


@blp.route("/ws")
class EventSocket(MethodView):
    @blp.doc(responses={"101": WEBSOCKET_RESPONSE})
    @blp.alt_response(426, response="UPGRADE_REQUIRED")
    @_stream_operation
    @declare_scope(STREAM_SCOPE)
    def get(self, args, headers):
        """The same events over a WebSocket, with subscribe and unsubscribe messages."""
        if request.headers.get("Upgrade", "").lower() != "websocket":
            _refuse_unknown_parameters()
            _caller(args.get("ticket"))
            abort(
                426,
                "This endpoint speaks WebSocket: send an Upgrade: websocket request.",
                code="upgrade_required",
                headers={"Upgrade": "websocket", "Connection": "Upgrade"},
            )
        session = _open(args, headers)
        # No per-message compression: it would cost every connection its own zlib state.
        environ = {
            key: value
            for key, value in request.environ.items()
            if key != "HTTP_SEC_WEBSOCKET_EXTENSIONS"
        }
        serve_websocket(session, environ)
        return _Upgraded()


# werkzeug matches an Upgrade: websocket request only to a rule marked websocket=True
# (and any other request only to one that is not): the same view under both rules, the
# second left out of the API document, which describes the operation once.
flask.Blueprint.add_url_rule(
    blp, "/ws", view_func=EventSocket.as_view("EventSocketUpgrade"), websocket=True
)
