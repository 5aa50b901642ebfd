"""The shared auth client, seen from a second service (docs/auth.md).

A probe service built only from ``services.common`` runs under gunicorn next to the
real user service. It must drop a logged-out token within 2 s, learn a role change
within 2 s, and make at most 2 verify calls per 100 requests. Made-up tokens earn no
rate-limit budget of their own (they count against their client's address) and, past
``RATELIMIT_REJECTED_TOKENS``, get 429 without reaching the user service, while a
session the service already knows goes on working. What it does while the user service
is down (R1, docs/testing.md) is tested through nginx on a real service in
``tests/resilience/test_user_service_down.py``.
"""

from __future__ import annotations

import re
import secrets
import time

import pytest
import requests

from tests.support.api import ApiClient
from tests.support.fixtures import start_probe


@pytest.fixture
def probe(platform):
    url, process = start_probe(platform, "probe")
    yield url
    process.stop()


def whoami(probe: str, token: str) -> requests.Response:
    return requests.get(
        f"{probe}/api/probe/whoami", headers={"Authorization": f"Bearer {token}"}, timeout=5
    )


def verify_calls(platform) -> float:
    """Verify requests the user service has served, from its own /metrics."""
    text = requests.get(f"{platform.service_url('user')}/metrics", timeout=5).text
    pattern = r'^http_requests_total\{[^}]*endpoint="internal.verify"[^}]*\} ([0-9.e+]+)$'
    return sum(float(v) for v in re.findall(pattern, text, re.M))


def test_logout_is_enforced_by_another_service_within_two_seconds(platform, api, probe):
    account = api.account()
    assert whoami(probe, account.access_token).status_code == 200
    assert whoami(probe, account.access_token).status_code == 200  # now cached
    assert api.post("/api/logout", token=account.access_token).status_code == 204
    started = time.monotonic()
    while whoami(probe, account.access_token).status_code == 200:
        assert time.monotonic() - started < 2.0, "logged-out token still accepted after 2 s"
        time.sleep(0.05)
    refused = whoami(probe, account.access_token)
    assert refused.status_code == 401
    assert refused.headers["Content-Type"] == "application/problem+json"


def test_role_change_reaches_another_service_within_two_seconds(platform, api, admin, probe):
    account = api.account()
    assert whoami(probe, account.access_token).json()["role"] == "user"
    promoted = api.patch(
        f"/api/admin/users/{account.id}", token=admin.access_token, json={"role": "admin"}
    )
    assert promoted.status_code == 200
    started = time.monotonic()
    while whoami(probe, account.access_token).json()["role"] != "admin":
        assert time.monotonic() - started < 2.0
        time.sleep(0.05)


def test_steady_traffic_makes_few_verify_calls(platform, api, probe):
    account = api.account()
    whoami(probe, account.access_token)
    before = verify_calls(platform)
    for _ in range(100):
        assert whoami(probe, account.access_token).status_code == 200
    assert verify_calls(platform) - before <= 2


def test_made_up_tokens_share_their_clients_budget_and_stop_reaching_the_user_service(
    platform, api
):
    url, process = start_probe(platform, "probe-rejections", RATELIMIT_REJECTED_TOKENS="5/minute")
    try:
        account = api.account()
        client = ApiClient(url)  # one client address throughout
        assert client.get("/api/probe/whoami", token=account.access_token).status_code == 200
        before = verify_calls(platform)
        answers = [
            client.get("/api/probe/whoami", token=secrets.token_urlsafe(24)) for _ in range(12)
        ]
        calls = verify_calls(platform) - before
        known = client.get("/api/probe/whoami", token=account.access_token)
    finally:
        process.stop()
    assert [a.status_code for a in answers] == [401] * 5 + [429] * 7
    # One budget, the address's: a new token does not start a fresh one.
    remaining = [int(a.headers["X-RateLimit-Remaining"]) for a in answers]
    assert remaining == sorted(remaining, reverse=True) and len(set(remaining)) == 12, remaining
    refused = answers[-1]
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert refused.json()["code"] == "rate_limited" and int(refused.headers["Retry-After"]) > 0
    assert calls <= 5
    assert known.status_code == 200
