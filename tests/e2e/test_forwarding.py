"""Forwarding headers count only from the platform's proxies (``TRUSTED_PROXIES``,
default 127.0.0.1 and ::1; services/common/proxies.py).

A caller that reaches a service directly cannot pick its rate-limit bucket or the
address the logs record with ``X-Forwarded-For``, nor the scheme, host or prefix of the
links a service writes with ``X-Forwarded-Proto``/``-Host``/``-Prefix`` or a
``SCRIPT_NAME`` header. The probe service (built from ``services.common`` only) runs
under gunicorn on 127.0.0.1; a direct caller connects from another loopback address
(127.x.y.z), a trusted proxy from 127.0.0.1, as nginx does.
"""

from __future__ import annotations

import json
import random
import uuid

import pytest

from tests.support.api import ApiClient
from tests.support.fixtures import start_probe

FORGED = {
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "evil.example",
    "X-Forwarded-Prefix": "/evil",
    "SCRIPT_NAME": "/evil",
}


@pytest.fixture(scope="module")
def probe(platform):
    url, process = start_probe(
        platform, "probe-forwarding", LOG_LEVEL="INFO", RATELIMIT_USER="1000/minute"
    )
    yield url, process
    process.stop()


def forged_ip() -> str:
    return f"198.51.100.{random.randint(1, 254)}"


def remaining(client: ApiClient, path: str, forwarded_for: str, **kwargs) -> int:
    response = client.request(
        kwargs.pop("method", "GET"), path, headers={"X-Forwarded-For": forwarded_for}, **kwargs
    )
    assert response.status_code != 429, response.text
    return int(response.headers["X-RateLimit-Remaining"])


def access_line(log_path, request_id: str) -> dict:
    for line in log_path.read_text().splitlines():
        if request_id in line and line.startswith("{"):
            entry = json.loads(line)
            if entry.get("logger") == "access" and entry.get("request_id") == request_id:
                return entry
    raise AssertionError(f"no access line for {request_id}")


def test_a_direct_caller_cannot_pick_its_rate_limit_bucket(probe):
    url, _ = probe
    direct = ApiClient(url)  # from 127.x.y.z, not a trusted proxy
    counts = [remaining(direct, "/api/probe/client", forged_ip()) for _ in range(4)]
    assert counts == sorted(counts, reverse=True) and len(set(counts)) == 4, counts


def test_a_trusted_proxy_names_the_client(probe):
    url, _ = probe
    proxy = ApiClient(url, source="127.0.0.1")
    first, second = f"203.0.113.{random.randint(1, 254)}", f"192.0.2.{random.randint(1, 254)}"
    counts = [remaining(proxy, "/api/probe/client", ip) for ip in (first, second, first)]
    # One bucket per named client: the second client starts afresh, the first goes on.
    assert counts[0] == counts[1] and counts[2] == counts[0] - 1, counts


def test_a_direct_caller_is_logged_and_linked_as_it_connected(platform, probe):
    url, process = probe
    direct = ApiClient(url)
    request_id = uuid.uuid4().hex
    headers = {**FORGED, "X-Forwarded-For": forged_ip(), "X-Request-ID": request_id}
    seen = direct.get("/api/probe/client", headers=headers).json()
    assert seen == {
        "remote_addr": direct.source,
        "scheme": "http",
        "host": url.removeprefix("http://"),
        "script_root": "",
        "url": f"{url}/api/probe/client",
    }
    assert access_line(process.log_path, request_id)["remote_addr"] == direct.source


def test_a_trusted_proxy_is_believed_except_for_a_prefix(platform, probe):
    url, process = probe
    proxy = ApiClient(url, source="127.0.0.1")
    client_ip, request_id = forged_ip(), uuid.uuid4().hex
    headers = {**FORGED, "X-Forwarded-For": client_ip, "X-Request-ID": request_id}
    seen = proxy.get("/api/probe/client", headers=headers).json()
    assert seen == {
        "remote_addr": client_ip,
        "scheme": "https",
        "host": "evil.example",
        "script_root": "",
        "url": "https://evil.example/api/probe/client",
    }
    assert access_line(process.log_path, request_id)["remote_addr"] == client_ip


def test_through_nginx_the_client_is_the_address_nginx_saw(api):
    """A forged X-Forwarded-For sent to nginx changes nothing: the login limit (per IP)
    counts the one real client down whatever it claims to be."""
    body = {"username": f"nobody{uuid.uuid4().hex[:8]}", "password": "wrong password"}
    counts = [remaining(api, "/api/login", forged_ip(), method="POST", json=body) for _ in range(3)]
    assert counts == sorted(counts, reverse=True) and len(set(counts)) == 3, counts


def test_no_caller_sets_the_prefix_of_the_links_a_service_writes(platform, api):
    account = api.account()
    for source in ("127.0.0.1", None):  # a trusted proxy, then a direct caller
        client = ApiClient(platform.service_url("project-task"), source=source)
        response = client.get(
            "/api/projects",
            token=account.access_token,
            headers={"X-Forwarded-Prefix": "https://evil.example", "SCRIPT_NAME": "/evil"},
        )
        assert response.status_code == 200, response.text
        assert response.headers["Link"].startswith("</api/projects?"), response.headers["Link"]
        assert "evil" not in response.headers["Link"]
