"""Real clients of the live stream, for the tests and scripts/bench: an SSE reader on
``requests`` (streamed, chunk by chunk) and a WebSocket client (simple-websocket's),
each reading on a thread of its own into a queue the test takes events from."""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests
import simple_websocket


@dataclass
class Received:
    """One frame as the client saw it, and when (``time.monotonic()``)."""

    event: str
    id: str | None
    data: Any
    at: float


@dataclass
class _Reader:
    frames: queue.Queue = field(default_factory=queue.Queue)
    ended: threading.Event = field(default_factory=threading.Event)
    ended_at: float | None = None
    comments: int = 0

    def next(self, timeout: float = 10.0) -> Received | None:
        """The next frame, or None if none came within ``timeout`` seconds."""
        try:
            return self.frames.get(timeout=timeout)
        except queue.Empty:
            return None

    def until(self, predicate: Callable[[Received], bool], timeout: float = 10.0) -> Received:
        """Skip frames until one matches; fail if none does in time."""
        deadline = time.monotonic() + timeout
        while True:
            frame = self.next(max(0.0, deadline - time.monotonic()))
            assert frame is not None, "no matching frame arrived in time"
            if predicate(frame):
                return frame

    def drain(self, seconds: float) -> list[Received]:
        """Every frame arriving within ``seconds``."""
        deadline, got = time.monotonic() + seconds, []
        while (frame := self.next(max(0.0, deadline - time.monotonic()))) is not None:
            got.append(frame)
        return got

    def _end(self) -> None:
        self.ended_at = time.monotonic()
        self.ended.set()


class SseClient(_Reader):
    """``GET /api/stream`` with ``requests``, parsed as Server-Sent Events."""

    def __init__(
        self,
        session: requests.Session,
        url: str,
        *,
        token: str | None = None,
        params: dict[str, Any] | None = None,
        last_event_id: str | None = None,
    ) -> None:
        super().__init__()
        headers = {"Accept": "text/event-stream"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        self.response = session.get(url, params=params, headers=headers, stream=True, timeout=30)
        self.status = self.response.status_code
        self.opened = threading.Event()
        if self.status == 200:
            threading.Thread(target=self._read, daemon=True).start()
            assert self.opened.wait(10), "the stream sent nothing"
        else:
            self.problem = self.response.json()
            self.response.close()

    def _read(self) -> None:
        buffer = ""
        try:
            for chunk in self.response.iter_content(chunk_size=None):
                buffer += chunk.decode()
                while "\n\n" in buffer:
                    block, buffer = buffer.split("\n\n", 1)
                    self._block(block)
        except (requests.RequestException, OSError, AttributeError):
            pass
        finally:
            self._end()

    def _block(self, block: str) -> None:
        fields: dict[str, str] = {}
        for line in block.split("\n"):
            if line.startswith(":"):
                self.comments += 1
                self.opened.set()
                continue
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
        if "data" in fields:
            self.frames.put(
                Received(
                    fields.get("event", "message"),
                    fields.get("id"),
                    json.loads(fields["data"]),
                    time.monotonic(),
                )
            )

    def close(self) -> None:
        # Shut the socket first: closing the response would wait for the reading thread,
        # blocked in a read until the next heartbeat.
        connection = getattr(self.response.raw, "connection", None)
        if connection is not None and connection.sock is not None:
            with contextlib.suppress(OSError):
                connection.sock.shutdown(socket.SHUT_RDWR)
        self.ended.wait(5)
        self.response.close()


class WsClient(_Reader):
    """``GET /api/stream/ws`` with simple-websocket's client; every message JSON."""

    def __init__(self, url: str, *, token: str | None = None, headers: dict | None = None):
        super().__init__()
        sent = dict(headers or {})
        if token:
            sent["Authorization"] = f"Bearer {token}"
        self.ws = simple_websocket.Client.connect(url, headers=sent)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            while True:
                message = self.ws.receive()
                if message is None:
                    continue
                body = json.loads(message)
                self.frames.put(
                    Received(body["event"], body.get("id"), body.get("data"), time.monotonic())
                )
        except (simple_websocket.ConnectionClosed, OSError):
            pass
        finally:
            self._end()

    def send(self, message: Any) -> None:
        self.ws.send(message if isinstance(message, str) else json.dumps(message))

    def close(self) -> None:
        with contextlib.suppress(simple_websocket.ConnectionClosed):
            self.ws.close()
