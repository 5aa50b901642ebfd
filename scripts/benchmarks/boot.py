"""scripts/bench's stack: fresh bench_<run>_<service> databases, its own Redis, the SMTP
sink, every built service under gunicorn with the production settings, the live stream
(gevent workers, or gthread for the comparison ``--stream-workers gthread`` makes), the
Celery workers and beat, and nginx rendered from ``nginx/`` plus the ceiling's ping
location."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from scripts import stack
from scripts.toolkit import databases, nginx
from scripts.toolkit.processes import REPO, Supervisor, free_port
from services.common.registry import STREAM

# Services the measured paths need; a failure of any other built service is a warning.
ESSENTIAL = ("user", "project-task", "activity-log", STREAM.name)
# The alternative to gevent that P9 is compared with: a thread per open stream, enough in
# each worker for all 1,000 (a gthread worker accepts connections it has no thread for,
# and they wait).
GTHREAD_STREAM_THREADS = 1000
PING_PATH = "/bench/ping"
PING_LOCATION = f"""
# Added by scripts/bench to its rendered copy only (nginx/ has no such route): the
# benchmark's ceiling, project-task's no-I/O liveness through the same upstream and
# proxy settings as /api/.
location = {PING_PATH} {{
    proxy_pass http://project_task/health;
}}
"""


@dataclass
class Stack:
    """The running platform: the gateway, each service's address and database."""

    workdir: Path
    gateway: str = ""
    urls: dict[str, str] = field(default_factory=dict)
    databases: dict[str, str] = field(default_factory=dict)
    down: list[str] = field(default_factory=list)


def process_families(supervisor: Supervisor) -> dict[int, str]:
    """Process group id -> a family name (a service, nginx, redis, workers)."""
    return {
        process.popen.pid: "workers" if name.endswith("-worker") or name == "beat" else name
        for name, process in supervisor.processes.items()
        if process.popen is not None
    }


def base_environment(workdir: Path, redis_port: int, smtp_port: int) -> dict[str, str]:
    """What every process gets: fresh secrets, this run's Redis, and the production
    defaults (no WEB_CONCURRENCY, GUNICORN_THREADS or LOG_LEVEL overrides)."""
    dropped = ("PROMETHEUS_MULTIPROC_DIR", "WEB_CONCURRENCY", "GUNICORN_THREADS", "LOG_LEVEL")
    env = {k: v for k, v in os.environ.items() if k not in dropped and not k.endswith("_URL")}
    env.update(
        {
            "SERVICE_TOKEN": secrets.token_urlsafe(32),
            "JWT_SECRET_KEY": secrets.token_urlsafe(48),
            "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            "VAR_DIR": str(workdir),
            "ATTACHMENT_STORAGE_DIR": str(workdir / "uploads"),
            "REPORT_STORAGE_DIR": str(workdir / "reports"),
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": str(smtp_port),
            # The limiter still checks Redis on every request; the budget is raised so
            # a few dozen users can drive the load without being throttled.
            "RATELIMIT_USER": "1000000/minute",
            "RATELIMIT_AUTH": "100000/minute",
            # P9 holds 1,000 streams with the 50 seeded users (each stream still takes and
            # renews its slot in Redis).
            "STREAM_MAX_PER_USER": "1000",
            "PYTHONPATH": str(REPO),
        }
    )
    return env


def stream_command(port: int, workers: str) -> tuple[list[str], dict[str, str]]:
    """The live stream's process as production runs it (gevent), or with a thread per
    stream (gthread, ``GTHREAD_STREAM_THREADS`` per worker) for the comparison."""
    if workers == "gthread":
        command = stack.gunicorn_command(stack.STREAM_APP, port)
        return command, {"GUNICORN_THREADS": str(GTHREAD_STREAM_THREADS)}
    return stack.stream_command(port), {}


def spawn_processes(
    supervisor: Supervisor,
    workdir: Path,
    services: list,
    env: dict[str, str],
    envs: dict[str, dict[str, str]],
    ports: dict[str, int],
    result: Stack,
    stream: tuple[list[str], dict[str, str]] | None,
) -> None:
    """Every service under gunicorn (each with its own metrics directory), the stream
    (``stream``: its command and extra settings; None leaves it out, its port in
    ``ports``), the Celery workers on their services' settings, and beat."""
    for service in services:
        metrics_dir = workdir / "prometheus" / service.package
        metrics_dir.mkdir(parents=True, exist_ok=True)
        envs[service.name]["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
        command = stack.gunicorn_command(service, ports[service.name])
        supervisor.spawn(service.name, command, envs[service.name], ports[service.name])
    if stream is not None:
        command, extra = stream
        metrics_dir = workdir / "prometheus" / "stream"
        metrics_dir.mkdir(parents=True, exist_ok=True)
        stream_env = {**env, **extra, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
        supervisor.spawn(STREAM.name, command, stream_env, ports[STREAM.name])
        result.urls[STREAM.name] = f"http://127.0.0.1:{ports[STREAM.name]}"
    for service in stack.built_workers():
        worker_env = {
            k: v for k, v in envs[service.name].items() if k != "PROMETHEUS_MULTIPROC_DIR"
        }
        supervisor.spawn(f"{service.name}-worker", stack.worker_command(service), worker_env)
    supervisor.spawn("beat", stack.beat_command(workdir / "celerybeat-schedule"), env)


def boot(
    workdir: Path, supervisor: Supervisor, server: str, run_id: str, stream_workers: str = "gevent"
) -> Stack:
    """Databases, Redis, SMTP sink, every built service, the stream, workers, beat, nginx."""
    result = Stack(workdir)
    redis_port, smtp_port, gateway_port = free_port(), free_port(), free_port()
    env = base_environment(workdir, redis_port, smtp_port)
    redis = stack.embedded_redis_command(redis_port, workdir / "redis", persist=False)
    supervisor.spawn("redis", redis, env)
    supervisor.spawn("smtp", stack.smtp_sink_command(smtp_port), env)
    services = stack.built_services()
    ports = {s.name: free_port() for s in services}
    for service in services:
        env[service.url_setting] = f"http://127.0.0.1:{ports[service.name]}"
        result.urls[service.name] = env[service.url_setting]

    envs = {}
    for service in services:
        name = f"bench_{run_id}_{service.package}"
        databases.create_database(server, name, replace=True)
        result.databases[service.name] = name
        envs[service.name] = {**env, "DATABASE_URL": databases.database_url(server, name)}
        print(f"  migrating {service.name} ...", flush=True)
        stack.migrate(service, envs[service.name])

    ports[STREAM.name] = free_port()
    stream = stream_command(ports[STREAM.name], stream_workers)
    spawn_processes(supervisor, workdir, services, env, envs, ports, result, stream)
    addresses = nginx.loopback_addresses(
        {**{s.package: ports[s.name] for s in services}, "notification_stream": ports[STREAM.name]}
    )
    conf = nginx.render_nginx(
        workdir / "nginx", f"127.0.0.1:{gateway_port}", addresses, extra_locations=PING_LOCATION
    )
    gateway = supervisor.spawn("nginx", nginx.nginx_command(conf), env, gateway_port)
    result.gateway = f"http://127.0.0.1:{gateway_port}"

    for service in [*services, STREAM]:
        try:
            supervisor.processes[service.name].wait_ready("/health/ready")
        except (RuntimeError, TimeoutError):
            if service.name in ESSENTIAL:
                raise
            print(f"  warning: {service.name} is not ready (not needed here)", flush=True)
            result.down.append(service.name)
    gateway.wait_ready(PING_PATH, timeout=20)
    supervisor.processes["activity-log-worker"].wait_ready(wait_log=" ready.")
    return result
