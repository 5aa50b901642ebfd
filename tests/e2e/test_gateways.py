"""The gateway layer: nginx's configuration is valid, nginx answers 503 problem+json for
a service that is down, and the Python fallback gateway routes by the same table."""

from __future__ import annotations

import subprocess

from scripts import stack
from scripts.toolkit.nginx import nginx_command, render_nginx
from scripts.toolkit.processes import Process, free_port
from services.common.registry import SERVICES, STREAM
from services.gateway import health as aggregate_health
from services.gateway.routes import load_route_table, upstream_ports
from tests.support.api import ApiClient


def test_rendered_nginx_config_passes_nginx_t(tmp_path):
    conf = render_nginx(tmp_path, "127.0.0.1:18080", {})
    result = subprocess.run([*nginx_command(conf), "-t"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr


def test_upstreams_match_the_service_registry():
    ports = upstream_ports()
    services = {info.package: info.port for info in SERVICES.values()}
    # Plus the aggregate GET /health and the live stream, which are no services of it.
    assert ports == {
        **services,
        "health": aggregate_health.DEFAULT_PORT,
        "notification_stream": STREAM.port,
    }


def test_route_table_sends_each_path_to_its_owner():
    table = load_route_table()
    expected = {
        "/api/register": "user",
        "/api/users/me": "user",
        "/api/admin/users/3": "user",
        "/api/password/forgot": "user",
        "/api/projects/1/tasks": "project_task",
        "/api/tasks/7": "project_task",
        "/api/tasks/7/comments": "comment",
        "/api/comments/2": "comment",
        "/api/tasks/7/attachments": "attachment",
        "/api/attachments/9/download": "attachment",
        "/api/notifications/unread-count": "notification",
        "/api/notifications/user/4": "notification",
        "/api/webhooks/1/deliveries": "notification",
        "/api/stream": "notification_stream",
        "/api/stream/ws": "notification_stream",
        "/api/stream/tickets": "notification_stream",
        "/api/streaming": None,
        "/api/activities": "activity_log",
        "/api/reports/quick/dashboard": "reporting",
        "/api/report-schedules": "reporting",
        "/api/docs/project-task/openapi.json": "project_task",
        "/api/docs": "user",
        "/api/unknown": None,
        "/api/registerx": None,
    }
    assert {path: table.api_upstream(path) for path in expected} == expected
    assert table.health["/health/projects"] == "project_task"


def test_nginx_answers_503_problem_when_the_service_is_down(tmp_path):
    port = free_port()
    conf = render_nginx(tmp_path, f"127.0.0.1:{port}", {"user": f"127.0.0.1:{free_port()}"})
    nginx = Process("nginx-down", nginx_command(conf), {}, tmp_path / "nginx.log", port)
    nginx.start(wait_path=None)
    try:
        response = ApiClient(f"http://127.0.0.1:{port}").get("/api/users/me")
    finally:
        nginx.stop()
    assert response.status_code == 503
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.json()
    assert (
        body["code"] == "service_unavailable"
        and body["request_id"] == response.headers["X-Request-ID"]
    )


def test_python_gateway_routes_like_nginx(platform, tmp_path):
    port = free_port()
    command, env = stack.python_gateway_command(
        port,
        {
            "user": platform.service_url("user").removeprefix("http://"),
            "project_task": f"127.0.0.1:{free_port()}",
        },
    )
    gateway = Process(
        "python-gateway", command, {**platform.base_env(), **env}, tmp_path / "gw.log", port
    )
    gateway.start(wait_path=None)
    try:
        client = ApiClient(f"http://127.0.0.1:{port}")
        account = client.account()
        me = client.get("/api/users/me", token=account.access_token)
        assert me.status_code == 200 and me.json()["username"] == account.username
        assert me.headers["X-Request-ID"] == me.headers["X-Request-ID"].split(",")[0]
        for path, status, code in [
            ("/internal/auth/verify", 404, "not_found"),
            ("/metrics", 404, "not_found"),
            ("/api/unknown", 404, "not_found"),
            ("/api/projects", 503, "service_unavailable"),
        ]:
            response = client.get(path)
            assert response.status_code == status, path
            assert response.headers["Content-Type"] == "application/problem+json"
            assert response.json()["code"] == code
        big = client.post(
            "/api/register",
            data=b"x" * (2 * 1024 * 1024),
            headers={"Content-Type": "application/json"},
        )
        assert big.status_code == 413 and big.json()["code"] == "payload_too_large"
        assert client.get("/health/user").json()["status"] == "ok"
    finally:
        gateway.stop()
