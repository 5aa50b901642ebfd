"""scripts/bench's live-update phases, through nginx:

- P8: one user renames tasks at a steady rate while another user of the project follows
  the stream over SSE and over a WebSocket; the delay from each write's request being
  sent (so the commit is inside it) to its event arriving, per transport;
- P9: 1,000 idle SSE streams held open (raw sockets, spread over the seeded users): the
  memory the stream process, nginx and Redis gained, whether every stream stayed up,
  and P1 measured right before they open and again while they are open.
"""

from __future__ import annotations

import os
import resource
import secrets
import select
import socket
import time
from typing import Any
from urllib.parse import urlsplit

import requests

from scripts.benchmarks.boot import Stack
from scripts.benchmarks.figures import percentile
from scripts.benchmarks.seeding import Seed
from scripts.toolkit.streams import SseClient, WsClient
from scripts.toolkit.waiting import wait_for
from services.common.registry import STREAM

IDLE_STREAMS = 1000


def raise_open_files_limit() -> int:
    """Let this process (and the children it starts) hold thousands of sockets: the soft
    open-files limit raised to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _lags(sent: dict[str, float], arrived: dict[str, float]) -> dict[str, Any]:
    lags = [arrived[title] - at for title, at in sent.items() if title in arrived]
    missing = len(sent) - len(lags)
    return {
        "events": len(lags),
        "missing": missing,
        "p50_s": round(percentile(lags, 0.50), 4) if lags else None,
        "p95_s": round(percentile(lags, 0.95), 4) if lags and not missing else None,
        "max_s": round(max(lags), 4) if lags else None,
    }


def measure_delivery(stack_: Stack, seeded: Seed, count: int, rate: float) -> dict[str, Any]:
    """P8: ``count`` task renames at ``rate`` per second by one user; when each reaches
    another member's SSE stream and WebSocket."""
    (_, writer), (_, reader) = seeded.users[1], seeded.users[2]
    query = {"project_id": seeded.project_id, "types": "task.updated"}
    session = requests.Session()
    sse = SseClient(session, f"{stack_.gateway}/api/stream", token=reader, params=query)
    ws_url = stack_.gateway.replace("http://", "ws://") + "/api/stream/ws"
    ws = WsClient(f"{ws_url}?project_id={seeded.project_id}&types=task.updated", token=reader)
    run = secrets.token_hex(3)
    low, high = seeded.task_ids
    sent: dict[str, float] = {}
    answered: dict[str, float] = {}
    arrived: dict[str, dict[str, float]] = {"sse": {}, "websocket": {}}

    def collect() -> bool:
        for name, client in (("sse", sse), ("websocket", ws)):
            while (frame := client.next(timeout=0)) is not None:
                arrived[name].setdefault(frame.data["changes"]["title"][1], frame.at)
        return all(sent.keys() <= got.keys() for got in arrived.values())

    writes = requests.Session()
    started = time.monotonic()
    try:
        for index in range(count):
            time.sleep(max(0.0, started + index / rate - time.monotonic()))
            title = f"P8 {run} {index}"
            sent[title] = time.monotonic()
            response = writes.patch(
                f"{stack_.gateway}/api/tasks/{low + (index * 7919) % (high - low + 1)}",
                json={"title": title},
                headers={"Authorization": f"Bearer {writer}"},
                timeout=30,
            )
            answered[title] = time.monotonic()
            response.raise_for_status()
            collect()
        wait_for(collect, timeout=30, interval=0.02)
    finally:
        sse.close()
        ws.close()
    return {
        "writes": count,
        "rate_per_s": rate,
        "measured_from": "the write's request being sent",
        "write_p50_s": round(percentile([answered[t] - sent[t] for t in sent], 0.5), 4),
        **{name: _lags(sent, got) for name, got in arrived.items()},
    }


def family_rss(families: dict[int, str]) -> dict[str, float]:
    """Resident memory (MB) of each process family (its process group), from /proc."""
    totals: dict[str, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                group = int(stat.read().rsplit(")", 1)[1].split()[2])
            family = families.get(group)
            if family is None:
                continue
            with open(f"/proc/{entry}/status") as status:
                kb = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
        except (OSError, StopIteration, ValueError):
            continue
        totals[family] = totals.get(family, 0.0) + kb / 1024
    return totals


def open_idle_stream(gateway: str, token: str) -> socket.socket:
    """One SSE stream on a raw socket, read up to its opening comment, then left idle."""
    address = urlsplit(gateway)
    sock = socket.create_connection((address.hostname, address.port), timeout=10)
    sock.sendall(
        (
            f"GET /api/stream HTTP/1.1\r\nHost: {address.netloc}\r\n"
            f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
        ).encode()
    )
    received = b""
    while b"stream open" not in received:
        chunk = sock.recv(4096)
        if not chunk:
            raise RuntimeError(f"a stream was refused: {received[:300]!r}")
        received += chunk
    if not received.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"a stream was refused: {received[:300]!r}")
    return sock


def still_open(sock: socket.socket) -> bool:
    """The stream has not been closed (heartbeats it sent meanwhile are read away)."""
    try:
        while select.select([sock], [], [], 0)[0]:
            if not sock.recv(65536):
                return False
        return True
    except OSError:
        return False


def measure_idle_streams(
    stack_: Stack, seeded: Seed, load: Any, seconds: int, families: dict[int, str]
) -> dict[str, Any]:
    """P9: P1 right before, then ``IDLE_STREAMS`` idle streams opened through nginx
    (spread over the seeded users), the memory that cost, and P1 while they are open."""
    p1 = {"tokens": seeded.tokens_file, "ids": seeded.task_ids}
    print(f"P9: P1 for {seconds} s without streams ...", flush=True)
    without = load.run("/api/tasks/{id}", seconds, **p1)
    before = family_rss(families)
    print(f"P9: opening {IDLE_STREAMS} idle streams ...", flush=True)
    tokens = [token for _, token in seeded.users]
    opened_at = time.monotonic()
    streams, refused = [], []
    for index in range(IDLE_STREAMS):
        try:
            streams.append(open_idle_stream(stack_.gateway, tokens[index % len(tokens)]))
        except (OSError, RuntimeError) as exc:  # counted: the measure is how many it holds
            refused.append(repr(exc)[:200])
            if len(refused) >= 20:
                break
    opening_s = time.monotonic() - opened_at
    try:
        time.sleep(5)
        after = family_rss(families)
        print(f"P9: P1 for {seconds} s with {IDLE_STREAMS} streams open ...", flush=True)
        with_streams = load.run("/api/tasks/{id}", seconds, **p1)
        alive = sum(still_open(sock) for sock in streams)
    finally:
        for sock in streams:
            sock.close()
    extra = {
        family: round(after.get(family, 0.0) - before.get(family, 0.0), 1)
        for family in (STREAM.name, "nginx", "redis")
    }
    return {
        "streams": IDLE_STREAMS,
        "opened": len(streams),
        "refused": refused[:5],
        "opening_s": round(opening_s, 1),
        "alive_at_end": alive,
        "rss_before_mb": {k: round(v, 1) for k, v in before.items()},
        "rss_after_mb": {k: round(v, 1) for k, v in after.items()},
        "extra_mb": extra,
        "extra_total_mb": round(sum(extra.values()), 1),
        "p1_without": without,
        "p1_with": with_streams,
        "p1_drop": round(1 - with_streams["rps"] / without["rps"], 3),
    }
