"""Child processes of the scripts and the tests, supervised one way.

Each child runs in its own session (so its process group holds gunicorn's or Celery's
workers too), writes stdout and stderr to its own log file, and is stopped by
signalling the whole group: SIGTERM, then SIGKILL if it has not exited in time.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from scripts.toolkit.waiting import http_ok, log_contains, port_open, wait_for

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Process:
    """One child: ``command`` with ``env`` (None: this process's environment), logging
    to ``log_path``, listening on ``port`` (0: no port to wait for)."""

    name: str
    command: list[str]
    env: dict[str, str] | None
    log_path: Path
    port: int = 0
    popen: subprocess.Popen | None = None
    log_offset: int = field(default=0, init=False, repr=False)  # where this start's lines begin

    def spawn(self) -> None:
        """Start the child without waiting for it; its log is appended to."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            self.popen = subprocess.Popen(
                self.command,
                env=self.env,
                cwd=REPO,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def start(
        self, wait_path: str | None = "/health", wait_log: str | None = None, timeout: float = 60
    ) -> None:
        """Start the child and wait until it is ready (see :meth:`wait_ready`)."""
        self.spawn()
        self.wait_ready(wait_path, wait_log, timeout)

    def wait_ready(
        self, wait_path: str | None = "/health", wait_log: str | None = None, timeout: float = 60
    ) -> None:
        """Wait for ``wait_log`` to appear in this start's log lines, or else for the
        port to accept connections and then ``GET wait_path`` to succeed. A child that
        exits meanwhile, or time running out, raises naming the log."""

        def ready() -> bool:
            if not self.running:
                raise RuntimeError(f"{self.name} exited; see {self.log_path}")
            if wait_log:
                return log_contains(self.log_path, wait_log, self.log_offset)
            if not port_open(self.port):
                return False
            return wait_path is None or http_ok(f"http://127.0.0.1:{self.port}{wait_path}")

        if (wait_log or self.port) and not wait_for(ready, timeout, interval=0.05):
            raise TimeoutError(f"{self.name} did not become ready; see {self.log_path}")

    def send_signal(self, sig: int) -> None:
        """Send ``sig`` to the child's whole process group."""
        if self.popen is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, sig)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
        """Signal the group and wait for the child; SIGKILL the group after ``timeout``."""
        if self.running:
            self.send_signal(sig)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.send_signal(signal.SIGKILL)
                self.popen.wait(5)
        self.popen = None

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None


class Supervisor:
    """Named children logging to ``log_dir/<name>.log``, stopped together."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.processes: dict[str, Process] = {}

    def log(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def add(
        self, name: str, command: list[str], env: dict[str, str] | None, port: int = 0
    ) -> Process:
        """Register a child without starting it."""
        process = Process(name, command, env, self.log(name), port)
        self.processes[name] = process
        return process

    def spawn(
        self, name: str, command: list[str], env: dict[str, str] | None, port: int = 0
    ) -> Process:
        """Register a child and start it without waiting for it."""
        process = self.add(name, command, env, port)
        process.spawn()
        return process

    def dead(self) -> list[str]:
        """The children that were started and have exited on their own."""
        return [
            name
            for name, process in self.processes.items()
            if process.popen is not None and not process.running
        ]

    def stop_all(self, timeout: float = 20) -> None:
        """SIGTERM every running child (the last added first), give them ``timeout``
        seconds together, then SIGKILL what is left."""
        running = [p for p in reversed(self.processes.values()) if p.running]
        for process in running:
            process.send_signal(signal.SIGTERM)
        wait_for(lambda: not any(p.running for p in running), timeout)
        for process in running:
            process.stop(signal.SIGKILL, timeout=5)


def run_child(command: list[str]) -> int:
    """Run a script that cleans up after itself in the foreground; on Ctrl-C or SIGTERM
    let it do so (it gets SIGINT) instead of killing it."""
    process = subprocess.Popen(command, cwd=REPO)
    try:
        return process.wait()
    except BaseException:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
        raise
