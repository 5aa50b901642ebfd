"""A throwaway PostgreSQL cluster of the tests' own: ``initdb`` into a temporary
directory and ``pg_ctl`` on a free loopback port, so a test can stop and start the
server (or run initialisation scripts against it) without touching the shared one.

As root, ``initdb`` and ``pg_ctl`` run as the ``postgres`` OS user (``runuser``); the
directory is made outside pytest's tmp_path, which that user cannot enter.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from scripts.toolkit.processes import free_port


def server_binaries() -> Path | None:
    """The newest PostgreSQL server's bin directory, or None when none is installed."""
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    return Path(bins[-1]) if bins else None


def available() -> str | None:
    """Why a private cluster cannot be made here (None when it can)."""
    if os.geteuid() != 0 or shutil.which("runuser") is None:
        return "needs root and runuser (initdb runs as the postgres user)"
    if server_binaries() is None:
        return "needs a PostgreSQL server installation (/usr/lib/postgresql/*/bin)"
    return None


def as_postgres(*command: str, env: dict[str, str] | None = None) -> None:
    """Run ``command`` as the postgres OS user."""
    subprocess.run(
        ["runuser", "-u", "postgres", "--", *command],
        check=True,
        capture_output=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


@dataclass
class Cluster:
    """A private cluster: ``port`` on 127.0.0.1, unix ``sockets``, scratch ``tmp``."""

    bin_dir: Path
    tmp: Path
    port: int

    @property
    def data(self) -> Path:
        return self.tmp / "data"

    @property
    def sockets(self) -> Path:
        return self.tmp / "sockets"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def pg_ctl(self, action: str, *args: str) -> None:
        options = f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1"
        log = str(self.tmp / "postgres.log")
        command = [str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-o", options]
        as_postgres(*command, "-l", log, "-w", action, *args)

    def start(self) -> None:
        self.pg_ctl("start")

    def stop(self, mode: str = "fast") -> None:
        self.pg_ctl("stop", "-m", mode)

    def restart(self, mode: str = "fast") -> None:
        self.pg_ctl("restart", "-m", mode)


@contextmanager
def private_cluster(host_auth: str = "trust") -> Iterator[Cluster]:
    """A fresh, started cluster (TCP auth ``host_auth``), removed afterwards."""
    bin_dir = server_binaries()
    assert bin_dir is not None, available()
    tmp = Path(tempfile.mkdtemp(prefix="taskapp-pg-"))
    cluster = Cluster(bin_dir, tmp, free_port())
    cluster.sockets.mkdir()
    for path in (tmp, cluster.sockets):
        shutil.chown(path, "postgres")
    initdb = [str(bin_dir / "initdb"), "-D", str(cluster.data), "-U", "postgres"]
    as_postgres(*initdb, "--auth-local=trust", f"--auth-host={host_auth}")
    cluster.start()
    try:
        yield cluster
    finally:
        with suppress(subprocess.CalledProcessError):  # already stopped
            cluster.stop("immediate")
        shutil.rmtree(tmp, ignore_errors=True)
