"""The gateway layer: nginx's configuration is valid, nginx answers 503 problem+json for
a service that is down, the Python fallback gateway routes by the same table, and both
refuse the same table of hostile paths before routing them anywhere."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from scripts import stack
from scripts.toolkit.nginx import nginx_command, render_nginx
from scripts.toolkit.processes import Process, free_port
from services.common.registry import SERVICES, STREAM
from services.gateway import health as aggregate_health
from services.gateway.routes import load_route_table, upstream_ports
from tests.support.api import ApiClient
from tests.support.servers import TargetRecorder, serve

# Request targets both gateways must answer 400 problem+json without routing: each
# would otherwise reach a service as something other than what was routed (its
# /metrics or /internal/* once a dot segment is resolved), or is nothing an API path is.
HOSTILE_TARGETS = [
    "/api/users/../metrics",
    "/api/users/../../internal/auth/verify",
    "/api/users/me/../../../metrics",
    "/api/users/%2e%2e/%2e%2e/metrics",
    "/api/users/%2E%2E/%2e%2E/internal/auth/verify",
    "/api/users/.%2e/%2e./metrics",
    "/api/users/..%2f..%2fmetrics",
    "/api/users/%2e%2e%2f%2e%2e%2finternal%2fauth%2fverify",
    "/api/users/..%2F..%2Finternal/auth/verify",
    "/api/users//../../../x",
    "/api/users//../../../internal/auth/verify",
    "/api/users/..\\..\\metrics",
    "/api/users/%5c..%5c..%5cmetrics",
    "/api//users/me",
    "//api/users/me",
    "/api/users/./me",
    "/api/users/me/.",
    "/api/users/x/..",
    "/api/users/..?next=1",
    "/api/users/%252e%252e/%252e%252e/metrics",
    "/api/users/%00/x",
    "/api/users/me%0d%0aX-Injected:%201",
    "/health/user/../../metrics",
    "/health/../internal/auth/verify",
    "http://gateway.example/api/users/../../metrics",
    "http://gateway.example//api/users/me",
]
# What the same gateways must still forward, exactly as sent.
BENIGN_TARGETS = [
    "/api/users/me",
    "/api/users/me?next=/../../metrics",
    "/api/users/a%20b%40c",
    "/api/users/.profile",
    "/api/users/...",
    "/api/docs/user/openapi.json",
]


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
        "/api/tasks/7/time-entries": "project_task",
        "/api/time-entries/5": "project_task",
        "/api/timer": "project_task",
        "/api/timers": None,
        "/api/reports/quick/timesheet": "reporting",
        "/api/tasks/7/comments": "comment",
        "/api/comments/2": "comment",
        "/api/tasks/7/attachments": "attachment",
        "/api/attachments/9/download": "attachment",
        "/api/attachments/9/versions/2/restore": "attachment",
        "/api/attachments/9/links/3": "attachment",
        "/api/files/shared/AbC-x_9": "attachment",
        "/api/files/shared": None,
        "/api/files/shared/a/b": None,
        "/api/projects/1/storage": "attachment",
        "/api/projects/1/storage/x": "project_task",
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


@pytest.fixture(scope="module")
def recorder() -> Iterator[TargetRecorder]:
    """The one upstream behind every route of the gateway under test."""
    recorder = serve(TargetRecorder())
    yield recorder
    recorder.close()


@pytest.fixture(scope="module", params=["nginx", "python"])
def gateway(request, recorder, tmp_path_factory) -> Iterator[tuple[str, int]]:
    """nginx or the Python fallback gateway, each route going to ``recorder``."""
    upstream = recorder.url.removeprefix("http://")
    addresses = {name: upstream for name in upstream_ports()}
    port = free_port()
    workdir = tmp_path_factory.mktemp(request.param)
    if request.param == "nginx":
        conf = render_nginx(workdir, f"127.0.0.1:{port}", addresses)
        process = Process("nginx", nginx_command(conf), None, workdir / "nginx.log", port)
    else:
        command, env = stack.python_gateway_command(port, addresses)
        process = Process("gateway", command, {**os.environ, **env}, workdir / "gw.log", port)
    process.start(wait_path=None)
    yield "127.0.0.1", port
    process.stop()


def send(address: tuple[str, int], target: str) -> tuple[int, dict[str, str], bytes]:
    """GET ``target`` exactly as written (requests would resolve its dot segments)."""
    connection = http.client.HTTPConnection(*address, timeout=10)
    try:
        connection.request("GET", target)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


@pytest.mark.parametrize("target", HOSTILE_TARGETS)
def test_gateways_refuse_hostile_paths_before_routing(gateway, recorder, target):
    recorder.targets.clear()
    status, headers, body = send(gateway, target)
    assert status == 400, body
    assert headers["Content-Type"] == "application/problem+json"
    problem = json.loads(body)
    assert problem["status"] == 400 and problem["code"] == "bad_request"
    assert problem["request_id"] == headers["X-Request-ID"]
    assert recorder.targets == []


@pytest.mark.parametrize("target", BENIGN_TARGETS)
def test_gateways_forward_other_paths_as_sent(gateway, recorder, target):
    recorder.targets.clear()
    status, _, body = send(gateway, target)
    assert status == 200, body
    assert recorder.targets == [target]


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_gateways_pass_bodies_through_both_ways(gateway, recorder, chunked):
    body = b'{"body": "' + b"x" * 200_000 + b'"}'
    headers = {"Content-Type": "application/json"}
    connection = http.client.HTTPConnection(*gateway, timeout=10)
    recorder.bodies.clear()
    try:
        if chunked:
            parts = iter([body[:70_000], body[70_000:]])
            headers["Transfer-Encoding"] = "chunked"
            connection.request("POST", "/api/tasks/7/comments", parts, headers, encode_chunked=True)
        else:
            connection.request("POST", "/api/tasks/7/comments", body, headers)
        response = connection.getresponse()
        answer = response.read()
    finally:
        connection.close()
    assert response.status == 200, answer
    assert recorder.bodies == [body]
    # The upstream's answer as it sent it: its length, not re-framed in chunks.
    assert answer == b"{}" and response.getheader("Content-Length") == "2"
    assert response.getheader("Transfer-Encoding") is None


def test_python_gateway_reuses_its_upstream_connections(tmp_path):
    """One pooled keep-alive connection per upstream serves request after request."""
    peers: list[int] = []

    class KeepAlive(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self.do_HEAD()
            self.wfile.write(b"{}")

        def do_HEAD(self) -> None:
            peers.append(self.client_address[1])
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()

        def do_DELETE(self) -> None:
            peers.append(self.client_address[1])
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), KeepAlive)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = free_port()
    addresses = {name: f"127.0.0.1:{server.server_port}" for name in upstream_ports()}
    command, env = stack.python_gateway_command(port, addresses)
    process = Process(
        "gateway", command, {**os.environ, **env, "WEB_CONCURRENCY": "1"}, tmp_path / "gw", port
    )
    process.start(wait_path=None)
    try:
        client = ApiClient(f"http://127.0.0.1:{port}")
        statuses = [client.get("/api/users/me").status_code for _ in range(10)]
        heads = [client.request("HEAD", "/api/users/me") for _ in range(5)]
        statuses += [client.delete("/api/users/me").status_code for _ in range(5)]
        statuses += [client.get("/api/users/me").status_code for _ in range(5)]
    finally:
        process.stop()
        server.shutdown()
    assert statuses == [200] * 10 + [204] * 5 + [200] * 5
    assert [(h.status_code, h.headers["Content-Length"], h.content) for h in heads] == [
        (200, "2", b"")
    ] * 5
    assert len(peers) == 25 and len(set(peers)) == 1, peers


def test_gateways_answer_a_malformed_chunked_body_with_400(gateway, recorder):
    recorder.targets.clear()
    raw = b"POST /api/users/me HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"
    line, headers, body = raw_exchange(gateway[1], raw)
    assert line.split()[1] == b"400", line
    assert headers["content-type"] == "application/problem+json"
    assert json.loads(body)["code"] == "bad_request"


def test_nginx_errors_of_unreadable_requests_are_problems(tmp_path):
    """nginx's own answers to requests it cannot read are problem+json too (they cannot
    use a named location: it used to answer its HTML 500 or its own HTML pages)."""
    port = free_port()
    conf = render_nginx(tmp_path, f"127.0.0.1:{port}", {})
    nginx = Process("nginx", nginx_command(conf), None, tmp_path / "nginx.log", port)
    nginx.start(wait_path=None)
    unreadable = {
        400: b"GET /api/users/%00 HTTP/1.1\r\nHost: x\r\n\r\n",
        505: b"GET /api/users/me HTTP/2.0\r\nHost: x\r\n\r\n",
        501: b"POST /api/users/me HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
    }
    big_header = b"GET /api/users/me HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n"
    try:
        answers = [(status, raw_exchange(port, raw)) for status, raw in unreadable.items()]
        answers.append((400, raw_exchange(port, big_header)))
    finally:
        nginx.stop()
    for status, (line, headers, body) in answers:
        assert line.split()[1] == str(status).encode(), line
        assert headers["content-type"] == "application/problem+json", (status, body)
        assert json.loads(body)["status"] == status


def raw_exchange(port: int, raw: bytes) -> tuple[bytes, dict[str, str], bytes]:
    """Send raw bytes (what no client library would send) and read the whole answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(raw)
        sock.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    line, *fields = head.split(b"\r\n")
    headers = {}
    for field in fields:
        name, _, value = field.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return line, headers, body
