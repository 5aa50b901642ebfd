"""The two ways a stream's frames travel: Server-Sent Events and WebSocket messages.

SSE (``text/event-stream``): an event is ``id: <log id>``, ``event: <type>`` and
``data: <the envelope>``; ``reset`` and ``error`` are events of those names with a JSON
body; a heartbeat is a comment line. The body is an iterable whose ``close()`` (called
by the server when the client goes, or when the stream ends) releases the stream.

WebSocket: every frame is one JSON text message ``{"event", "id"?, "data"}``; the
client's messages are read by a thread of their own and handled in turn with the
events. Heartbeats are WebSocket pings (``STREAM_HEARTBEAT_SECONDS``); a client that
does not answer one before the next is disconnected.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

from gevent.monkey import get_original
from simple_websocket import ConnectionClosed, Server
from wsproto.frame_protocol import CloseReason

from services.common import live_log
from services.notification.stream.hub import Incoming
from services.notification.stream.session import CLIENT_GONE, Frame, StreamSession

OPENING = "retry: 3000\n: stream open\n\n"
HEARTBEAT = ": keep-alive\n\n"
# A write the client does not take within this long ends its stream.
WRITE_TIMEOUT_SECONDS = 30
MAX_MESSAGE_BYTES = 64 * 1024
# The system's select, even under gevent: a look that never waits (timeout 0), made for
# every open stream every second, needs no event loop around it.
_select_now = get_original("select", "select")


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def sse_text(frame: Frame) -> str:
    """One frame as Server-Sent Events text."""
    if frame.kind == "heartbeat":
        return HEARTBEAT
    lines = []
    if frame.entry_id is not None:
        lines.append(f"id: {live_log.format_id(frame.entry_id)}")
    if frame.kind == "event":
        lines += [f"event: {frame.type}", f"data: {frame.text}"]
    else:
        lines += [f"event: {frame.kind}", f"data: {_json(frame.data)}"]
    return "\n".join(lines) + "\n\n"


def websocket_text(frame: Frame) -> str:
    """One frame as a WebSocket text message."""
    if frame.kind == "event":
        position = live_log.format_id(frame.entry_id)  # type: ignore[arg-type]
        return f'{{"event":{_json(frame.type)},"id":"{position}","data":{frame.text}}}'
    message: dict[str, Any] = {"event": frame.type if frame.kind == "ack" else frame.kind}
    if frame.entry_id is not None:
        message["id"] = live_log.format_id(frame.entry_id)
    message["data"] = frame.data
    return _json(message)


def peer_closed(sock: socket.socket) -> bool:
    """Whether the peer closed the connection (an SSE client sends nothing after its
    request, so a readable socket means it went away)."""
    try:
        readable, _, _ = _select_now([sock], [], [], 0)
        return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


class EventStreamBody:
    """The body of an SSE response: the session's frames as text, ended (and the session
    closed) when a final frame is out, the client goes, or the server closes it."""

    def __init__(self, session: StreamSession, environ: dict[str, Any]) -> None:
        self.session = session
        sock = environ.get("gunicorn.socket")
        if sock is not None:
            sock.settimeout(WRITE_TIMEOUT_SECONDS)
            session.client_gone = lambda: peer_closed(sock)

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield OPENING.encode()
            for frame in self.session.frames():
                yield sse_text(frame).encode()
                if frame.final:
                    return
        finally:
            self.session.close()

    def close(self) -> None:
        self.session.close()


class _SerialSocket:
    """The connection's socket with whole, one-at-a-time writes: the ping thread and
    the stream never interleave the bytes of two frames."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._lock = threading.Lock()

    def send(self, data: bytes) -> int:
        with self._lock:
            self._sock.sendall(data)
        return len(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class WebSocket(Server):
    """simple-websocket's server end, writing whole frames."""

    def handshake(self) -> None:
        super().handshake()
        self.sock = _SerialSocket(self.sock)


def serve_websocket(session: StreamSession, environ: dict[str, Any]) -> None:
    """Upgrade the request and run the stream over it until either side ends it."""
    ws = WebSocket(environ, ping_interval=session.heartbeat, max_message_size=MAX_MESSAGE_BYTES)
    session.client_gone = lambda: not ws.connected
    threading.Thread(target=_read_messages, args=(ws, session), daemon=True).start()
    try:
        for frame in session.frames():
            if frame.kind == "heartbeat":
                continue  # the pings keep the connection alive
            if frame.kind == "incoming":
                frame = session.handle_message(frame.text or "")
            ws.send(websocket_text(frame))
            if frame.final:
                reason = (
                    CloseReason.NORMAL_CLOSURE
                    if frame.kind == "reset"
                    else 4000 + int((frame.data or {}).get("status", 500))
                )
                ws.close(reason, frame.kind)
                return
    except ConnectionClosed:
        pass
    finally:
        session.close()
        if ws.connected:
            ws.close()


def _read_messages(ws: WebSocket, session: StreamSession) -> None:
    """Hand the client's messages to the stream until the connection closes."""
    try:
        while True:
            message = ws.receive()
            if message is None:
                continue
            text = message if isinstance(message, str) else message.decode("utf-8", "replace")
            session.subscriber.post(Incoming(text))
    except ConnectionClosed:
        session.subscriber.interrupt(CLIENT_GONE)
