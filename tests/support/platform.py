"""Boots the platform as real processes for end-to-end tests: every built service under
gunicorn on its own free port and fresh database, behind real nginx (rendered from
``nginx/`` by scripts/stack.py), all on loopback, with their Celery workers and the
aggregate health. Processes can be stopped and started again to test what happens
when a dependency dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from scripts import stack
from services.common.registry import ServiceInfo
from tests.support.backing import Backing, free_port, wait_for_port

REPO = stack.REPO


@dataclass
class Process:
    name: str
    command: list[str]
    env: dict[str, str]
    log_path: Path
    port: int
    popen: subprocess.Popen | None = None

    def start(self, wait_path: str | None = "/health", wait_log: str | None = None) -> None:
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = self.log_path.open("ab")
        self.popen = subprocess.Popen(
            self.command,
            env=self.env,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if wait_log:
            deadline = time.monotonic() + 60
            while wait_log not in self.log_path.read_text(errors="replace")[offset:]:
                if self.popen.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{self.name} did not start; see {self.log_path}")
                time.sleep(0.1)
            return
        wait_for_port(self.port, timeout=30)
        if wait_path:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                try:
                    if requests.get(f"http://127.0.0.1:{self.port}{wait_path}", timeout=1).ok:
                        return
                except requests.RequestException:
                    pass
                time.sleep(0.05)
            raise TimeoutError(f"{self.name} did not become healthy; see {self.log_path}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.popen and self.popen.poll() is None:
            os.killpg(self.popen.pid, sig)
            try:
                self.popen.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(5)
        self.popen = None

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None


@dataclass
class Platform:
    """The running platform: ``url`` is the gateway; ``processes`` by name."""

    backing: Backing
    workdir: Path
    settings: dict[str, str]
    url: str = ""
    redis_url: str = ""
    processes: dict[str, Process] = field(default_factory=dict)
    databases: dict[str, str] = field(default_factory=dict)

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
            }
        )
        env.update(self.settings)
        return env

    def service_env(self, service: ServiceInfo) -> dict[str, str]:
        env = self.base_env()
        env["DATABASE_URL"] = self.databases[service.name]
        metrics_dir = self.workdir / "prometheus" / service.package
        metrics_dir.mkdir(parents=True, exist_ok=True)
        env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
        for other_name, process in self.processes.items():
            if other_name in stack.DATABASE_NAMES:
                prefix = other_name.upper().replace("-", "_")
                env[f"{prefix}_SERVICE_URL"] = f"http://127.0.0.1:{process.port}"
        return env

    def health_env(self, components: str) -> dict[str, str]:
        """The aggregate health's environment: where each service runs, what to check."""
        env = self.base_env()
        for name, process in self.processes.items():
            if name in stack.DATABASE_NAMES:
                env[f"{stack.SERVICES[name].env_prefix}_SERVICE_URL"] = (
                    f"http://127.0.0.1:{process.port}"
                )
        env["HEALTH_COMPONENTS"] = components
        return env

    def add_service(self, service: ServiceInfo) -> Process:
        self.databases[service.name] = self.backing.database_url(service.package)
        port = free_port()
        process = Process(
            service.name, stack.gunicorn_command(service, port), {}, self.log(service.name), port
        )
        self.processes[service.name] = process
        return process

    def log(self, name: str) -> Path:
        return self.workdir / f"{name}.log"

    def start(self, name: str) -> None:
        process = self.processes[name]
        if name.endswith("-worker"):
            process.start(wait_log=" ready.")
        elif name == "health":
            process.start(wait_path="/health/live")
        elif name == "redis":
            process.start(wait_path=None)
        else:
            process.start()

    def stop(self, name: str, sig: int = signal.SIGTERM) -> None:
        self.processes[name].stop(sig)

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
        for process in reversed(list(self.processes.values())):
            process.stop()


def boot_platform(backing: Backing, workdir: Path, settings: dict[str, str]) -> Platform:
    """Start every built service and nginx in front of them."""
    platform = Platform(backing, workdir, settings)
    # The platform's own Redis server (not the suite's): its workers must not consume the
    # in-process tests' messages, and fault tests stop and start it.
    redis_port = free_port()
    platform.redis_url = f"redis://127.0.0.1:{redis_port}/0"
    platform.processes["redis"] = Process(
        "redis",
        stack.embedded_redis_command(redis_port, workdir / "redis"),
        {},
        platform.log("redis"),
        redis_port,
    )
    platform.processes["redis"].start(wait_path=None)
    services = stack.built_services()
    for service in services:
        platform.add_service(service)
    for service in services:
        process = platform.processes[service.name]
        process.env = platform.service_env(service)
        stack.migrate(
            service,
            {
                "DATABASE_URL": platform.databases[service.name],
                **{k: v for k, v in process.env.items() if k != "DATABASE_URL"},
            },
        )
    closed_port = free_port()  # nothing listens here: unbuilt services look down
    addresses = {}
    ports = stack.upstream_ports()
    for upstream in ports:
        process = next(
            (
                p
                for n, p in platform.processes.items()
                if n in stack.SERVICES and stack.SERVICES[n].package == upstream
            ),
            None,
        )
        addresses[upstream] = f"127.0.0.1:{process.port if process else closed_port}"
    health_port = free_port()
    addresses["health"] = f"127.0.0.1:{health_port}"
    gateway_port = free_port()
    conf = stack.render_nginx(workdir / "nginx", f"127.0.0.1:{gateway_port}", addresses)
    nginx = Process(
        "nginx", stack.nginx_command(conf), platform.base_env(), platform.log("nginx"), gateway_port
    )
    platform.processes["nginx"] = nginx
    for service in stack.built_workers():
        name = f"{service.name}-worker"
        platform.processes[name] = Process(
            name,
            stack.worker_command(service, concurrency=2),
            platform.service_env(service),
            platform.log(name),
            0,
        )
    components = stack.health_components(services, stack.built_workers(), backing.postgres)
    platform.processes["health"] = Process(
        "health",
        stack.health_command(health_port),
        platform.health_env(components),
        platform.log("health"),
        health_port,
    )
    try:
        for name in list(platform.processes):
            if name != "nginx" and not platform.processes[name].running:
                platform.start(name)
        nginx.start(wait_path=None)
    except Exception:
        platform.close()
        raise
    platform.url = f"http://127.0.0.1:{gateway_port}"
    return platform
