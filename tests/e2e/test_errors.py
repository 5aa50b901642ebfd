"""Every error a client can provoke through nginx is problem+json with the right status,
a stable code and the request id."""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor

import jwt
import pytest
import requests

from scripts import stack
from tests.support.api import ApiClient

PROBLEM = "application/problem+json"


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["code"] == code
    assert body["title"] and body["detail"] and body["type"]
    assert body["request_id"] == response.headers["X-Request-ID"]
    return body


def test_malformed_json_is_400(api):
    response = api.post(
        "/api/register", data="{not json", headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 400, "bad_request")


def test_missing_field_is_422_with_field_errors(api):
    body = assert_problem(
        api.post("/api/register", json={"username": "someone"}), 422, "validation_error"
    )
    assert set(body["errors"]) == {"email", "password"}


def test_duplicate_username_is_409(api):
    user = api.register()
    response = api.post(
        "/api/register",
        json={
            "username": user["username"],
            "email": "other@example.com",
            "password": "long enough",
        },
    )
    body = assert_problem(response, 409, "conflict")
    assert "username" in body["errors"]


def test_wrong_password_is_401(api):
    user = api.register()
    response = api.post(
        "/api/login", json={"username": user["username"], "password": "not it at all"}
    )
    assert_problem(response, 401, "invalid_credentials")


def _token(secret: str, **claims) -> str:
    now = int(time.time())
    payload = {
        "sub": "1",
        "sid": "nope",
        "type": "access",
        "jti": "x",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        **claims,
    }
    return jwt.encode(payload, secret, algorithm="HS256")


def test_expired_forged_revoked_and_malformed_tokens_are_401(api):
    import os

    account = api.account()
    claims = jwt.decode(account.access_token, options={"verify_signature": False})
    expired = _token(os.environ["JWT_SECRET_KEY"], **{**claims, "exp": int(time.time()) - 60})
    forged = _token("someone-elses-signing-key-that-is-long-enough", **claims)
    assert (
        api.post("/api/logout", token=api.login(account.username).access_token).status_code == 204
    )
    revoked = api.login(account.username)
    api.post("/api/logout", token=revoked.access_token)
    for token in (expired, forged, revoked.access_token, "not-a-token"):
        response = api.get("/api/users/me", token=token)
        assert_problem(response, 401, "unauthorized")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "expired" in api.get("/api/users/me", token=expired).json()["detail"]
    assert_problem(api.get("/api/users/me"), 401, "unauthorized")


@pytest.mark.parametrize(
    "path", ["/api/nothing-here", "/nothing-here", "/internal/auth/verify", "/metrics"]
)
def test_unknown_and_private_paths_are_404(api, path):
    assert_problem(api.get(path), 404, "not_found")
    assert_problem(api.post(path, json={"token": "x"}), 404, "not_found")


def test_wrong_method_is_405(api):
    body = assert_problem(api.delete("/api/login"), 405, "method_not_allowed")
    assert body["detail"]


def test_oversized_body_is_413_from_nginx(api):
    response = api.post(
        "/api/register",
        data=b"{" + b" " * (2 * 1024 * 1024) + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert_problem(response, 413, "payload_too_large")


def test_long_request_lines_reach_the_service_and_overlong_ones_are_414_from_nginx(api):
    # Longer than gunicorn's default limit (4 KiB), shorter than nginx's (8 KiB).
    long = api.get("/api/projects?q=" + "a" * 6000)
    assert_problem(long, 401, "unauthorized")
    assert_problem(api.get("/api/projects?q=" + "a" * 9000), 414, "uri_too_long")


def test_app_rate_limit_on_login_is_429_with_headers(platform):
    client = ApiClient(platform.url)
    statuses = []
    for _ in range(12):
        response = client.post("/api/login", json={"username": "nobody", "password": "whatever pw"})
        statuses.append(response.status_code)
        time.sleep(0.25)  # stay under nginx's burst: this is the service's own limit
    assert statuses[:10] == [401] * 10
    assert_problem(response, 429, "rate_limited")
    assert response.headers["X-RateLimit-Limit"] == "10"
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert int(response.headers["Retry-After"]) > 0


def test_nginx_rate_limit_on_credentials_is_429_problem(platform):
    client = ApiClient(platform.url)

    def hit(_):
        return client.post("/api/password/forgot", json={"email": "x@example.com"})

    with ThreadPoolExecutor(16) as pool:
        responses = list(pool.map(hit, range(60)))
    limited = [r for r in responses if r.status_code == 429]
    assert limited, [r.status_code for r in responses]
    from_nginx = [r for r in limited if "X-RateLimit-Limit" not in r.headers]
    assert from_nginx, "nginx's own limit never answered"
    assert_problem(from_nginx[0], 429, "rate_limited")
    assert from_nginx[0].headers["Retry-After"]


def test_authenticated_responses_carry_rate_limit_headers(api):
    account = api.account()
    response = api.get("/api/users/me", token=account.access_token)
    assert response.headers["X-RateLimit-Limit"] == "600"
    assert int(response.headers["X-RateLimit-Remaining"]) < 600
    assert "Retry-After" not in response.headers


HOSTILE_BODIES = {
    "arrays nested 10,000 deep": "[" * 10_000 + "]" * 10_000,
    "objects nested 10,000 deep": '{"a":' * 10_000 + "1" + "}" * 10_000,
    "an array of 400,000 small numbers": "[" + ",".join(["7"] * 400_000) + "]",
    "a field of 300,000 small numbers": '{"name":[' + ",".join(["7"] * 300_000) + "]}",
}


def json_operations(platform, service: str) -> list[tuple[str, str]]:
    """(method, path) of every operation of the service that takes a JSON body, path
    parameters filled in with 1; a service with none gets a POST to its first path (a
    JSON body is checked before routing, wherever it is sent)."""
    document = requests.get(f"{platform.url}/api/docs/{service}/openapi.json", timeout=10).json()
    paths = {re.sub(r"\{[^}]+\}", "1", path): ops for path, ops in document["paths"].items()}
    found = []
    for path, operations in paths.items():
        for method, operation in operations.items():
            if method not in ("post", "put", "patch"):
                continue
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                found.append((method.upper(), path))
    return found or [("POST", next(iter(paths)))]


@pytest.mark.parametrize("service", [service.name for service in stack.built_services()])
def test_deep_or_huge_json_is_400_on_every_operation_and_no_traceback(platform, service):
    """Through nginx, on every operation taking JSON: nesting the decoder cannot take,
    and more values than any request needs, are a 400 problem, never a 500 or a
    traceback in the service's log."""
    client = ApiClient(platform.url)
    token = client.account().access_token
    log = platform.log(service)
    log_start = log.stat().st_size
    for method, path in json_operations(platform, service):
        for name, body in HOSTILE_BODIES.items():
            response = client.request(
                method,
                path,
                token=token,
                data=body,
                headers={"Content-Type": "application/json"},
            )
            problem = assert_problem(response, 400, "bad_request")
            assert "too large to handle" in problem["detail"], (method, path, name)
    with log.open() as lines:
        lines.seek(log_start)
        written = lines.read()
    assert "Traceback" not in written and '"level": "error"' not in written, written[-3000:]
