"""Polling until something holds: one loop for every wait of the scripts and the tests."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import requests

T = TypeVar("T")


def wait_for(probe: Callable[[], T], timeout: float = 15.0, interval: float = 0.1) -> T:
    """Call ``probe`` until it returns something truthy or ``timeout`` seconds pass;
    return its last result (falsy when time ran out)."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(interval)


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def http_ok(url: str) -> bool:
    """Whether ``GET url`` answers a success status (False when it cannot be reached)."""
    try:
        return requests.get(url, timeout=1).ok
    except requests.RequestException:
        return False


def log_contains(log: Path, text: str, offset: int = 0) -> bool:
    """Whether ``text`` appears in ``log`` after its first ``offset`` bytes."""
    with log.open("rb") as file:
        file.seek(offset)
        return text in file.read().decode(errors="replace")
