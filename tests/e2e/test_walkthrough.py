"""The README's walkthrough, through nginx: register, login, me, refresh, logout, and a
personal access token for a script (its provider sign-in is tests/e2e/test_oidc.py)."""

from __future__ import annotations


def test_readme_walkthrough(api):
    registered = api.post(
        "/api/register",
        json={
            "username": "walker",
            "email": "walker@example.com",
            "password": "correct horse battery",
            "full_name": "Walker Example",
        },
    )
    assert registered.status_code == 201
    assert registered.headers["Location"] == f"/api/users/{registered.json()['id']}"

    login = api.post("/api/login", json={"username": "walker", "password": "correct horse battery"})
    assert login.status_code == 200
    tokens = login.json()
    assert tokens["token_type"] == "Bearer"

    me = api.get("/api/users/me", token=tokens["access_token"])
    assert me.status_code == 200
    assert me.json()["full_name"] == "Walker Example"
    assert me.headers["ETag"]

    refreshed = api.post("/api/token/refresh", token=tokens["refresh_token"])
    assert refreshed.status_code == 200
    access = refreshed.json()["access_token"]
    assert api.get("/api/users/me", token=access).status_code == 200

    assert api.post("/api/logout", token=access).status_code == 204
    refused = api.get("/api/users/me", token=access)
    assert refused.status_code == 401
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")

    access = api.post(
        "/api/login", json={"username": "walker", "password": "correct horse battery"}
    ).json()["access_token"]
    made = api.post(
        "/api/users/me/tokens",
        token=access,
        json={
            "name": "nightly export",
            "scopes": ["projects:read", "tasks:read"],
            "current_password": "correct horse battery",
        },
    )
    assert made.status_code == 201
    pat = made.json()["token"]
    assert api.get("/api/tasks", token=pat).status_code == 200
    refused = api.post("/api/projects", token=pat, json={"name": "x"})
    assert refused.status_code == 403 and refused.json()["code"] == "insufficient_scope"
    [listed] = api.get("/api/users/me/tokens", token=access).json()["items"]
    assert listed["name"] == "nightly export" and "token" not in listed


def test_request_id_is_kept_when_sane_and_replaced_when_not(api):
    kept = api.get("/api/users/me", headers={"X-Request-ID": "client-chosen-id-123"})
    assert kept.headers["X-Request-ID"] == "client-chosen-id-123"
    assert kept.json()["request_id"] == "client-chosen-id-123"
    replaced = api.get("/api/users/me", headers={"X-Request-ID": 'bad id"<script>'})
    assert replaced.headers["X-Request-ID"] != 'bad id"<script>'
    assert replaced.json()["request_id"] == replaced.headers["X-Request-ID"]
    assert "," not in replaced.headers["X-Request-ID"]  # exactly one header, not two joined


def test_docs_are_served_locally_and_merged(api):
    page = api.get("/api/docs")
    assert page.status_code == 200 and "swagger-ui" in page.text
    assert "http" not in page.text.split("<body>")[1].replace("http-equiv", "")  # no CDN
    assert api.get("/api/docs/assets/swagger-ui-bundle.js").status_code == 200
    user_doc = api.get("/api/docs/user/openapi.json").json()
    assert "/api/login" in user_doc["paths"]
    merged = api.get("/api/docs/openapi.json").json()
    assert "/api/register" in merged["paths"]
    assert merged["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_health_of_one_service_through_nginx(api):
    response = api.get("/health/user")
    assert response.status_code == 200
    assert response.json()["checks"] == {"redis": "ok", "database": "ok", "migrations": "ok"}


def test_json_is_gzipped_for_clients_that_accept_it(api):
    compressed = api.get("/api/docs/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert compressed.status_code == 200
    assert compressed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in compressed.headers["Vary"]
    assert "/api/register" in compressed.json()["paths"]  # requests decompressed it
    plain = api.get("/api/docs/openapi.json", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers
    assert plain.json() == compressed.json()
    # A small answer is not worth compressing.
    tiny = api.get("/health/live", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in tiny.headers
