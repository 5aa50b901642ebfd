"""The platform's aggregate health: ``GET /health`` through nginx (``location = /health``).

It asks every service's ``/health/ready`` (which covers that service's database and
Redis) and the live stream's (``notification-stream``), pings Redis itself, and reads the Celery workers' heartbeats in Redis
(``services.common.worker_heartbeat``), all at once, each bounded, so the answer comes
within 2 s even when a service hangs: 200 ``{"status": "ok", "components": {...}}`` only
when every component is healthy, else 503 problem+json with each component's status.
PostgreSQL is judged from the services' own database checks (the gateway holds no
database credentials). ``HEALTH_COMPONENTS`` narrows the list (default: everything).
``GET /health/live`` is this process's own liveness, for its container health check.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

import requests
from flask import Flask, current_app, json

from services.common import errors, logs
from services.common.config import ConfigError, env
from services.common.errors import PROBLEM_MIMETYPE, problem_body
from services.common.http import http_session
from services.common.redis_store import get_redis
from services.common.registry import SERVICES, STREAM, ServiceInfo, workers
from services.common.worker_heartbeat import live_workers

DEFAULT_PORT = 5000
BUDGET_SECONDS = 1.5
SERVICE_TIMEOUT = (0.5, 1.2)
# A worker component is "<queue>-worker" (the compose service of that name) for each
# service that runs a Celery worker (services.common.registry).
WORKERS = {f"{info.queue}-worker": info.queue for info in workers()}
WEB_PROCESSES = {**SERVICES, STREAM.name: STREAM}
DEFAULT_COMPONENTS = [*WEB_PROCESSES, "postgres", "redis", *WORKERS]

Result = dict[str, Any]
_executors: dict[int, ThreadPoolExecutor] = {}


def _executor() -> ThreadPoolExecutor:
    pid = os.getpid()
    if pid not in _executors:
        _executors.clear()
        _executors[pid] = ThreadPoolExecutor(max_workers=32, thread_name_prefix="aggregate")
    return _executors[pid]


def check_service(service: ServiceInfo) -> Result:
    """The service's readiness, with its own checks (database, redis, ...)."""
    try:
        response = http_session().get(service.url() + "/health/ready", timeout=SERVICE_TIMEOUT)
    except requests.Timeout:
        return {"status": "timeout"}
    except requests.RequestException as exc:
        return {"status": "unreachable", "detail": type(exc).__name__}
    try:
        checks = response.json().get("checks", {})
    except ValueError:
        checks = {}
    status = "ok" if response.status_code == 200 else "unavailable"
    return {"status": status, "checks": checks}


def check_redis(url: str) -> Result:
    get_redis(url).ping()
    return {"status": "ok"}


def check_worker(url: str, queue: str) -> Result:
    nodes = live_workers(get_redis(url), queue)
    return {"status": "ok" if nodes else "down", "queue": queue, "workers": len(nodes)}


def postgres_status(results: dict[str, Result]) -> Result:
    """PostgreSQL as the services see it: every service that answered reaches its database."""
    seen = {
        name: result["checks"]["database"]
        for name, result in results.items()
        if name in SERVICES and "database" in result.get("checks", {})
    }
    if not seen:
        return {"status": "unknown", "detail": "no service reported on its database"}
    failed = sorted(name for name, status in seen.items() if status != "ok")
    if failed:
        return {"status": "unavailable", "failed_for": failed}
    return {"status": "ok", "services": len(seen)}


def run_checks(components: list[str], redis_url: str) -> dict[str, Result]:
    """Every component at once; whatever has not answered within the budget timed out."""
    checks: dict[str, Callable[[], Result]] = {}
    for name in components:
        if name in WEB_PROCESSES:
            checks[name] = lambda info=WEB_PROCESSES[name]: check_service(info)
        elif name == "redis":
            checks[name] = lambda: check_redis(redis_url)
        elif name in WORKERS:
            checks[name] = lambda queue=WORKERS[name]: check_worker(redis_url, queue)
    futures: dict[str, Future] = {name: _executor().submit(c) for name, c in checks.items()}
    wait(futures.values(), timeout=BUDGET_SECONDS)
    results: dict[str, Result] = {}
    for name, future in futures.items():
        if not future.done():
            results[name] = {"status": "timeout"}
        elif future.exception() is not None:
            results[name] = {"status": "error", "detail": type(future.exception()).__name__}
        else:
            results[name] = future.result()
    if "postgres" in components:
        results["postgres"] = postgres_status(results)
    return {name: results[name] for name in components}


def parse_components(raw: str) -> list[str]:
    """``HEALTH_COMPONENTS`` (comma-separated) or every component; unknown names fail."""
    names = [part.strip() for part in raw.split(",") if part.strip()] or DEFAULT_COMPONENTS
    unknown = sorted(set(names) - {*DEFAULT_COMPONENTS, *WORKERS})
    if unknown:
        raise ConfigError(f"HEALTH_COMPONENTS names unknown components: {', '.join(unknown)}")
    return names


def aggregate():
    """Every component's health: 200 when all are healthy, else 503 naming the failed."""
    config = current_app.config
    results = run_checks(config["HEALTH_COMPONENTS"], config["REDIS_URL"])
    failed = [name for name, result in results.items() if result["status"] != "ok"]
    if not failed:
        return {"status": "ok", "components": results}
    body = problem_body(
        503,
        "Unhealthy: " + ", ".join(failed) + ".",
        "service_unavailable",
        extra={"components": results, "failed": failed},
    )
    return current_app.response_class(
        json.dumps(body), 503, mimetype=PROBLEM_MIMETYPE, headers={"Cache-Control": "no-store"}
    )


def live():
    """Liveness of the aggregator itself (no I/O)."""
    return {"status": "ok", "service": "health"}


def create_app() -> Flask:
    """Build the aggregate health app."""
    app = Flask(__name__)
    app.config["SERVICE_NAME"] = "health"
    app.config["LOG_LEVEL"] = env("LOG_LEVEL", "INFO")
    app.config["REDIS_URL"] = env("REDIS_URL", "redis://127.0.0.1:6379/0")
    app.config["HEALTH_COMPONENTS"] = parse_components(env("HEALTH_COMPONENTS", ""))
    logs.init_app(app)
    errors.init_app(app)
    app.add_url_rule("/health", "aggregate", aggregate)
    app.add_url_rule("/health/live", "live", live)
    return app
