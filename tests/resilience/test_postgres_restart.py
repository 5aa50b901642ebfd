"""R5 (docs/testing.md): PostgreSQL restarted under running services.

The user and project-task services run under gunicorn (the platform's settings) on a
private PostgreSQL cluster and a private Redis, so stopping that server touches nothing
else. While the database is down every request answers 503 problem+json
(``service_unavailable``, or ``auth_unavailable`` for a token nobody could check), never
500, and ``/health/ready`` names the database. Once it is back, the same processes serve
again: pooled connections that died with the server are replaced (``pool_pre_ping``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from scripts import stack
from scripts.toolkit.processes import Process, free_port
from tests.support import postgres_cluster
from tests.support.api import Account, ApiClient
from tests.support.postgres_cluster import Cluster

SERVICES = ("user", "project-task")


@dataclass
class PrivateStack:
    cluster: Cluster
    processes: dict[str, Process] = field(default_factory=dict)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.processes[name].port}"

    def pids(self) -> dict[str, int]:
        return {name: process.popen.pid for name, process in self.processes.items()}


@pytest.fixture(scope="module")
def private_stack(tmp_path_factory) -> Iterator[PrivateStack]:
    if reason := postgres_cluster.available():
        pytest.skip(reason)
    workdir = tmp_path_factory.mktemp("r5")
    with postgres_cluster.private_cluster(host_auth="trust") as cluster:
        private = PrivateStack(cluster)
        redis_port = free_port()
        redis = Process(
            "redis",
            stack.embedded_redis_command(redis_port, workdir / "redis"),
            {},
            workdir / "redis.log",
            redis_port,
        )
        redis.start(wait_path=None)
        ports = {name: free_port() for name in SERVICES}
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("PYTEST")},
            "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            "VAR_DIR": str(workdir),
            "WEB_CONCURRENCY": "2",
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(stack.REPO),
            "USER_SERVICE_URL": f"http://127.0.0.1:{ports['user']}",
            "PROJECT_TASK_SERVICE_URL": f"http://127.0.0.1:{ports['project-task']}",
        }
        try:
            for name in SERVICES:
                info = stack.SERVICES[name]
                service_env = {
                    **env,
                    "DATABASE_URL": cluster.url(stack.DATABASE_NAMES[name]),
                    "PROMETHEUS_MULTIPROC_DIR": str(_fresh_dir(workdir / "metrics" / name)),
                }
                stack.migrate(info, service_env)
                process = Process(
                    name,
                    stack.gunicorn_command(info, ports[name]),
                    service_env,
                    workdir / f"{name}.log",
                    ports[name],
                )
                private.processes[name] = process
                process.start()
            yield private
        finally:
            for process in private.processes.values():
                process.stop()
            redis.stop()


def _fresh_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def someone(private_stack) -> tuple[Account, dict]:
    """An account on the private stack with one project."""
    user = ApiClient(private_stack.url("user"))
    account = user.account()
    projects = ApiClient(private_stack.url("project-task"))
    created = projects.post("/api/projects", token=account.access_token, json={"name": "R5"})
    assert created.status_code == 201, created.text
    return account, created.json()


def requests_made(private: PrivateStack, account: Account, project: dict, unseen: str):
    """(name, response) for reads and writes on both services, and their readiness."""
    user, projects = private.url("user"), private.url("project-task")
    bearer = {"Authorization": f"Bearer {account.access_token}"}
    calls = [
        (
            "login",
            "POST",
            f"{user}/api/login",
            {"json": {"username": account.username, "password": account.password}},
        ),
        ("me", "GET", f"{user}/api/users/me", {"headers": bearer}),
        ("register", "POST", f"{user}/api/register", {"json": _new_user()}),
        ("list projects", "GET", f"{projects}/api/projects", {"headers": bearer}),
        ("one project", "GET", f"{projects}/api/projects/{project['id']}", {"headers": bearer}),
        (
            "create task",
            "POST",
            f"{projects}/api/projects/{project['id']}/tasks",
            {"headers": bearer, "json": {"title": "while the database is down"}},
        ),
        ("unseen token", "GET", f"{projects}/api/projects", {"headers": _bearer(unseen)}),
    ]
    return [
        (name, requests.request(method, url, timeout=15, **kwargs))
        for name, method, url, kwargs in calls
    ]


def _new_user() -> dict:
    name = f"r5u{time.monotonic_ns() % 10**9}"
    return {"username": name, "email": f"{name}@example.com", "password": "correct horse battery"}


def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def all_ok(private: PrivateStack, account: Account, parallel: int = 8) -> list[int]:
    """Statuses of authenticated reads on both services, ``parallel`` at a time."""
    urls = [f"{private.url('user')}/api/users/me", f"{private.url('project-task')}/api/projects"]

    def one(index: int) -> int:
        url = urls[index % len(urls)]
        return requests.get(url, headers=_bearer(account.access_token), timeout=15).status_code

    with ThreadPoolExecutor(parallel) as pool:
        return list(pool.map(one, range(parallel * 4)))


def test_idle_restart_is_invisible_to_the_next_requests(private_stack, someone):
    """Every pooled connection died with the server; the next requests still succeed."""
    account, _ = someone
    assert set(all_ok(private_stack, account)) == {200}  # every worker has pooled connections
    pids = private_stack.pids()
    private_stack.cluster.restart("fast")
    assert set(all_ok(private_stack, account)) == {200}
    assert private_stack.pids() == pids


def test_database_down_means_503_then_recovery_without_restart(private_stack, someone):
    account, project = someone
    unseen = ApiClient(private_stack.url("user")).account().access_token
    pids = private_stack.pids()
    private_stack.cluster.stop("fast")
    try:
        for name, response in requests_made(private_stack, account, project, unseen):
            assert response.status_code == 503, f"{name}: {response.status_code} {response.text}"
            assert response.headers["Content-Type"] == "application/problem+json", name
            body = response.json()
            expected = "auth_unavailable" if name == "unseen token" else "service_unavailable"
            assert body["code"] == expected, f"{name}: {body}"
            assert body["status"] == 503 and body["request_id"], name
        for name in SERVICES:
            ready = requests.get(f"{private_stack.url(name)}/health/ready", timeout=5)
            assert ready.status_code == 503, name
            assert ready.json()["checks"]["database"].startswith("error"), ready.json()
            assert ready.json()["checks"]["redis"] == "ok"
            assert requests.get(f"{private_stack.url(name)}/health", timeout=5).status_code == 200
    finally:
        private_stack.cluster.start()

    deadline = time.monotonic() + 15
    while set(all_ok(private_stack, account, parallel=2)) != {200}:
        assert time.monotonic() < deadline, "not recovered 15 s after PostgreSQL came back"
        time.sleep(0.5)
    assert set(all_ok(private_stack, account)) == {200}
    for name, response in requests_made(private_stack, account, project, unseen):
        assert response.status_code in (200, 201), f"{name}: {response.status_code} {response.text}"
    for name in SERVICES:
        assert requests.get(f"{private_stack.url(name)}/health/ready", timeout=5).status_code == 200
    assert private_stack.pids() == pids
