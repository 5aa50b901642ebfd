"""A real Celery worker of one service, as a subprocess on the test database and Redis."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask

from scripts import stack
from scripts.toolkit.processes import Process


@contextmanager
def celery_worker(
    service: str, app: Flask, log_path: Path, **env: str
) -> Iterator[subprocess.Popen]:
    """Run ``service``'s worker (``scripts/stack.worker_command``, solo pool) against the
    database and Redis of ``app`` until the block ends; ``env`` adds settings."""
    info = stack.SERVICES[service]
    config = app.config
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "COV"))}
    environment.pop("PROMETHEUS_MULTIPROC_DIR", None)
    environment.update(
        DATABASE_URL=config["SQLALCHEMY_DATABASE_URI"],
        REDIS_URL=config["REDIS_URL"],
        SERVICE_TOKEN=config["SERVICE_TOKEN"],
        **env,
    )
    command = [*stack.worker_command(info, concurrency=1), "--pool=solo"]
    process = Process(f"{service}-worker", command, environment, log_path, 0)
    process.start(wait_log=" ready.")
    process.popen.log = log_path  # type: ignore[attr-defined]
    try:
        yield process.popen
    finally:
        process.stop()
