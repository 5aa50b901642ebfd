"""Real servers on loopback for tests: an SMTP server (aiosmtpd) that
keeps what it receives, a webhook receiver that can be told to fail, a stand-in for
the project-task service's internal endpoints (being built elsewhere), and an upstream
that records every request target it is sent."""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response
from werkzeug.wsgi import get_input_stream

from scripts.toolkit.processes import free_port


def drop_after_reply(server: Any) -> None:
    """Close an aiosmtpd session's connection right after its next reply is sent (the
    250 to DATA): the server took the message, the client never hears QUIT answered."""
    asyncio.get_running_loop().call_soon(server.transport.close)


class _Inbox:
    """aiosmtpd handler: keeps every message; can refuse the next few (a 451 unless
    told otherwise), or drop the connection after accepting the next few."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.refuse = 0
        self.refusal = "451 Try again later"
        self.drop_after_accept = 0
        self.rcpt_delay = 0.0
        self.rcpt_started = threading.Event()
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        self.rcpt_started.set()
        if self.rcpt_delay:
            await asyncio.sleep(self.rcpt_delay)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        with self.lock:
            if self.refuse:
                self.refuse -= 1
                return self.refusal
            message = message_from_bytes(envelope.content)
            message["X-Envelope-To"] = ",".join(envelope.rcpt_tos)
            self.messages.append(message)
            if self.drop_after_accept:
                self.drop_after_accept -= 1
                drop_after_reply(server)
        return "250 OK"


@dataclass
class SmtpServer:
    port: int
    controller: Controller
    inbox: _Inbox

    @property
    def messages(self) -> list[Message]:
        return list(self.inbox.messages)

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if address in m["X-Envelope-To"]]

    def refuse_next(self, count: int, reply: str = "451 Try again later") -> None:
        self.inbox.refuse, self.inbox.refusal = count, reply

    def clear(self) -> None:
        with self.inbox.lock:
            self.inbox.messages.clear()
            self.inbox.refuse = self.inbox.drop_after_accept = 0

    def close(self) -> None:
        self.controller.stop()


def start_smtp() -> SmtpServer:
    inbox = _Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    return SmtpServer(port, controller, inbox)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: str

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    """Answers 200, or 500 while ``failures_left`` > 0 (or always, if ``always_fail``)."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    failed: int = 0
    failures_left: int = 0
    always_fail: bool = False
    _server: Any = None

    def __call__(self, environ, start_response):
        request = Request(environ)
        received = Received(request.path, dict(request.headers), request.get_data(as_text=True))
        if self.always_fail or self.failures_left > 0:
            self.failures_left = max(0, self.failures_left - 1)
            self.failed += 1
            response = Response("not now", status=500)
        else:
            self.requests.append(received)
            response = Response("ok", status=200)
        return response(environ, start_response)

    def reset(self) -> None:
        self.requests.clear()
        self.failed = self.failures_left = 0
        self.always_fail = False

    def close(self) -> None:
        self._server.shutdown()


@dataclass
class ProjectTaskStandIn:
    """``/internal/projects/<id>/members``, ``/internal/tasks/<id>/watchers`` and
    ``/internal/tasks/due-soon``, scripted (an unscripted project or task is a 404)."""

    service_token: str
    url: str = ""
    members: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    due_soon: list[dict[str, Any]] = field(default_factory=list)
    watchers: dict[int, list[int]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    _server: Any = None

    def __call__(self, environ, start_response):
        request = Request(environ)
        self.calls.append(request.full_path)
        if request.headers.get("X-Service-Token") != self.service_token:
            return Response("forbidden", status=403)(environ, start_response)
        parts = request.path.strip("/").split("/")
        if parts[:2] == ["internal", "projects"] and parts[3:] == ["members"]:
            members = self.members.get(int(parts[2]))
            if members is None:
                return Response("{}", status=404)(environ, start_response)
            body = {"items": members}
        elif request.path == "/internal/tasks/due-soon":
            body = {"items": self.due_soon}
        elif parts[:2] == ["internal", "tasks"] and parts[3:] == ["watchers"]:
            watchers = self.watchers.get(int(parts[2]))
            if watchers is None:
                return Response("{}", status=404)(environ, start_response)
            body = {"items": [{"user_id": user_id} for user_id in watchers]}
        else:
            return Response("{}", status=404)(environ, start_response)
        response = Response(json.dumps(body), mimetype="application/json")
        return response(environ, start_response)

    def reset(self) -> None:
        self.members.clear()
        self.due_soon.clear()
        self.watchers.clear()
        self.calls.clear()

    def close(self) -> None:
        self._server.shutdown()


@dataclass
class TargetRecorder:
    """An upstream for gateway tests: answers 200 to anything and keeps each request
    target exactly as it arrived (path and query, still percent-encoded), and each
    request body as it arrived (de-chunked)."""

    url: str = ""
    targets: list[str] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    _server: Any = None

    def __call__(self, environ, start_response):
        self.targets.append(environ["REQUEST_URI"])
        self.bodies.append(get_input_stream(environ).read())
        return Response("{}", mimetype="application/json")(environ, start_response)

    def close(self) -> None:
        self._server.shutdown()


def serve(app: Any) -> Any:
    """Serve a WSGI callable from a thread on a free loopback port; sets ``app.url``."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    app.url = f"http://127.0.0.1:{server.server_port}"
    app._server = server
    return app
