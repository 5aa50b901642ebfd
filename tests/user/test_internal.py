"""The verify endpoint other services call, and the create-admin command."""

from __future__ import annotations

from sqlalchemy import select

from services.user.models import User

SERVICE = {"X-Service-Token": "test-service-token"}


def test_verify_needs_the_service_token(client, auth):
    account = auth.account()
    for headers in ({}, {"X-Service-Token": "wrong"}):
        response = client.post(
            "/internal/auth/verify", json={"token": account.access_token}, headers=headers
        )
        assert response.status_code == 403 and response.json["code"] == "forbidden"


def test_verify_answers_who_and_how_long(client, auth):
    account = auth.account()
    response = client.post(
        "/internal/auth/verify", json={"token": account.access_token}, headers=SERVICE
    )
    assert response.status_code == 200
    body = response.json
    assert body["user"] == {"id": account.id, "username": account.username, "role": "user"}
    assert 0 < body["expires_in"] <= 900 and body["session_id"]


def test_verify_rejects_refresh_revoked_and_garbage_tokens(client, auth):
    account = auth.account()
    client.post("/api/logout", headers=auth.login(account.username).headers)
    revoked = auth.login(account.username)
    client.post("/api/logout", headers=revoked.headers)
    for token in (account.refresh_token, revoked.access_token, "garbage"):
        response = client.post("/internal/auth/verify", json={"token": token}, headers=SERVICE)
        assert response.status_code == 401, token
    assert client.post("/internal/auth/verify", json={}, headers=SERVICE).status_code == 422


def test_create_admin_command(app, database):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["create-admin", "--username", "Root", "--email", "root@example.com"],
        input="long password\nlong password\n",
    )
    assert result.exit_code == 0, result.output
    with database() as session:
        admin = session.scalar(select(User).where(User.username == "root"))
        assert admin.role == "admin" and admin.password_hash.startswith("$argon2id$")
    again = runner.invoke(
        args=[
            "create-admin",
            "--username",
            "root",
            "--email",
            "r2@example.com",
            "--password",
            "long password",
        ]
    )
    assert again.exit_code != 0 and "exists" in again.output
    weak = runner.invoke(
        args=["create-admin", "--username", "x", "--email", "x@example.com", "--password", "short"]
    )
    assert weak.exit_code != 0


def test_internal_user_lookup_by_ids_and_usernames(client, auth):
    first, second = auth.account(), auth.account()
    response = client.get(
        f"/internal/users?ids={first.id}&usernames={second.username.upper()}", headers=SERVICE
    )
    assert response.status_code == 200
    items = response.json["items"]
    assert [(u["id"], u["email"]) for u in items] == [
        (first.id, first.email),
        (second.id, second.email),
    ]
    assert client.get(f"/internal/users?ids={first.id}").status_code == 403
    assert client.get("/internal/users", headers=SERVICE).status_code == 422
    assert client.get("/internal/users?ids=x", headers=SERVICE).status_code == 422
