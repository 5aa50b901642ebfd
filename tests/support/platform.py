"""Boots the platform as real processes for end-to-end tests: every built service under
gunicorn on its own free port and fresh database, the live stream's process, behind real
nginx (rendered from ``nginx/`` by scripts/toolkit/nginx.py), all on loopback, with their
Celery workers and the aggregate health. Processes can be stopped and started again to
test what happens when a dependency dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import redis

from scripts import stack
from scripts.toolkit import nginx
from scripts.toolkit.processes import Process, Supervisor, free_port
from services.common.registry import STREAM, ServiceInfo
from tests.support.backing import Backing

REPO = stack.REPO


@dataclass
class Platform:
    """The running platform: ``url`` is the gateway; ``processes`` by name."""

    backing: Backing
    workdir: Path
    settings: dict[str, str]
    url: str = ""
    redis_url: str = ""
    databases: dict[str, str] = field(default_factory=dict)
    supervisor: Supervisor = field(init=False)

    def __post_init__(self) -> None:
        self.supervisor = Supervisor(self.workdir)

    @property
    def processes(self) -> dict[str, Process]:
        return self.supervisor.processes

    def base_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "COV"))}
        env.update(
            {
                "SERVICE_TOKEN": os.environ["SERVICE_TOKEN"],
                "JWT_SECRET_KEY": os.environ["JWT_SECRET_KEY"],
                "REDIS_URL": self.redis_url,
                "VAR_DIR": str(self.workdir),
                "WEB_CONCURRENCY": "2",
                "LOG_LEVEL": "WARNING",
                "PYTHONPATH": str(REPO),
                # Where people reach the platform: links in e-mails, provider sign-in.
                "APP_URL": self.url,
            }
        )
        env.update(self.settings)
        return env

    def service_urls(self) -> dict[str, str]:
        """``<SERVICE>_SERVICE_URL`` of every service process (and the stream's): where
        the others call it."""
        infos = {**stack.SERVICES, STREAM.name: STREAM}
        return {
            infos[name].url_setting: f"http://127.0.0.1:{process.port}"
            for name, process in self.processes.items()
            if name in stack.DATABASE_NAMES or name == STREAM.name
        }

    def service_env(self, service: ServiceInfo) -> dict[str, str]:
        env = self.base_env()
        env["DATABASE_URL"] = self.databases[service.name]
        metrics_dir = self.workdir / "prometheus" / service.package
        metrics_dir.mkdir(parents=True, exist_ok=True)
        env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
        env.update(self.service_urls())
        return env

    def stream_env(self) -> dict[str, str]:
        """The live stream's environment: no database; where the services are."""
        env = {**self.base_env(), **self.service_urls()}
        metrics_dir = self.workdir / "prometheus" / "notification_stream"
        metrics_dir.mkdir(parents=True, exist_ok=True)
        env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
        return env

    def health_env(self, components: str) -> dict[str, str]:
        """The aggregate health's environment: where each service runs, what to check."""
        return {**self.base_env(), **self.service_urls(), "HEALTH_COMPONENTS": components}

    def log(self, name: str) -> Path:
        return self.supervisor.log(name)

    def start(self, name: str) -> None:
        process = self.processes[name]
        if name.endswith("-worker"):
            process.start(wait_log=" ready.")
        elif name == "health":
            process.start(wait_path="/health/live")
        elif name in ("redis", "nginx"):
            process.start(wait_path=None)
        else:
            process.start()

    def stop(self, name: str, sig: int = signal.SIGTERM) -> None:
        self.processes[name].stop(sig)

    def drained(self) -> bool:
        """True once no Celery job waits in any worker's queue: what earlier tests left
        has been taken (jobs held for a later retry may still be scheduled)."""
        client = redis.Redis.from_url(self.redis_url)
        try:
            return sum(client.llen(s.queue) for s in stack.built_workers() if s.queue) == 0
        finally:
            client.close()

    def service_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.processes[name].port}"

    def run_cli(
        self, service: str, *args: str, input: str | None = None
    ) -> subprocess.CompletedProcess:
        """Run ``flask --app services.<service> <args>`` against the service's database."""
        info = stack.SERVICES[service]
        return subprocess.run(
            [sys.executable, "-m", "flask", "--app", f"services.{info.package}", *args],
            env=self.service_env(info),
            cwd=REPO,
            input=input,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def close(self) -> None:
        self.supervisor.stop_all()


def boot_platform(backing: Backing, workdir: Path, settings: dict[str, str]) -> Platform:
    """Start every built service and nginx in front of them."""
    platform = Platform(backing, workdir, settings)
    supervisor = platform.supervisor
    gateway_port = free_port()
    platform.url = f"http://127.0.0.1:{gateway_port}"
    # The platform's own Redis server (not the suite's): its workers must not consume the
    # in-process tests' messages, and fault tests stop and start it.
    redis_port = free_port()
    platform.redis_url = f"redis://127.0.0.1:{redis_port}/0"
    supervisor.add(
        "redis", stack.embedded_redis_command(redis_port, workdir / "redis"), {}, redis_port
    )
    platform.start("redis")
    services = stack.built_services()
    for service in services:
        platform.databases[service.name] = backing.database_url(service.package)
        port = free_port()
        supervisor.add(service.name, stack.gunicorn_command(service, port), {}, port)
    ports = {service.package: platform.processes[service.name].port for service in services}
    if stack.stream_built(services):
        ports["notification_stream"] = free_port()
        command = stack.stream_command(ports["notification_stream"])
        supervisor.add(STREAM.name, command, {}, ports["notification_stream"])
    for service in services:
        process = platform.processes[service.name]
        process.env = platform.service_env(service)
        stack.migrate(service, process.env)
    if STREAM.name in platform.processes:
        platform.processes[STREAM.name].env = platform.stream_env()
    health_port = free_port()
    addresses = nginx.loopback_addresses({**ports, "health": health_port})
    conf = nginx.render_nginx(workdir / "nginx", f"127.0.0.1:{gateway_port}", addresses)
    supervisor.add("nginx", nginx.nginx_command(conf), platform.base_env(), gateway_port)
    workers = stack.built_workers()
    for service in workers:
        name = f"{service.name}-worker"
        command = stack.worker_command(service, concurrency=2)
        supervisor.add(name, command, platform.service_env(service))
    components = stack.health_components(services, workers, backing.postgres)
    command = stack.health_command(health_port)
    supervisor.add("health", command, platform.health_env(components), health_port)
    try:
        for name in [*(n for n in platform.processes if n not in ("redis", "nginx")), "nginx"]:
            platform.start(name)
    except Exception:
        platform.close()
        raise
    return platform
