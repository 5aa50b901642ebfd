"""Registration, login, lockout, refresh rotation, logout, password reset."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from services.user.models import OutboxEvent, PasswordResetToken, User

PROBLEM = "application/problem+json"


def events_of(database, event_type: str) -> list[dict]:
    """The payloads of the events of a type, oldest first (by id: the relay's update of
    a published row may move it in the table, so storage order is no order)."""
    with database() as session:
        rows = session.scalars(
            select(OutboxEvent).where(OutboxEvent.type == event_type).order_by(OutboxEvent.id)
        )
        return [row.payload for row in rows]


def test_register_creates_account_with_location_and_event(client, database):
    response = client.post(
        "/api/register",
        json={
            "username": "Alice",
            "email": "Alice@Example.com",
            "password": "s3cret-pass",
            "full_name": "Alice A",
        },
    )
    assert response.status_code == 201
    body = response.json
    assert response.headers["Location"] == f"/api/users/{body['id']}"
    assert body["username"] == "alice" and body["email"] == "alice@example.com"
    assert body["role"] == "user" and body["is_active"] is True
    assert "password" not in body and "password_hash" not in body
    assert body["created_at"].endswith("+00:00")
    [event] = events_of(database, "user.registered")
    assert event["entity"] == {"type": "user", "id": body["id"]}
    assert event["request_id"] == response.headers["X-Request-ID"]
    with database() as session:
        stored = session.scalar(select(User).where(User.username == "alice"))
        assert stored.password_hash.startswith("$argon2id$")


def test_register_rejects_bad_input_and_writes_nothing(client, database):
    cases = [
        ({"username": "ab", "email": "x@example.com", "password": "long-enough"}, "username"),
        ({"username": "bob", "email": "not-an-email", "password": "long-enough"}, "email"),
        ({"username": "bob", "email": "bob@example.com", "password": "short"}, "password"),
        ({"username": 42, "email": "bob@example.com", "password": "long-enough"}, "username"),
        (
            {
                "username": "bob",
                "email": "bob@example.com",
                "password": "long-enough",
                "role": "admin",
            },
            "role",
        ),
    ]
    for body, field in cases:
        response = client.post("/api/register", json=body)
        assert response.status_code == 422, body
        assert response.mimetype == PROBLEM
        assert response.json["code"] == "validation_error"
        assert field in response.json["errors"]
    with database() as session:
        assert session.scalar(select(User)) is None
    assert events_of(database, "user.registered") == []


def test_malformed_json_is_400_and_wrong_media_type_is_415(client):
    response = client.post("/api/register", data="{nope", content_type="application/json")
    assert response.status_code == 400 and response.json["code"] == "bad_request"
    response = client.post(
        "/api/register", data="username=x", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 415 and response.json["code"] == "unsupported_media_type"


def test_duplicate_username_or_email_is_409(client, auth):
    auth.register("carol")
    response = client.post(
        "/api/register",
        json={"username": "CAROL", "email": "other@example.com", "password": "long-enough"},
    )
    assert response.status_code == 409
    assert response.json["errors"] == {"username": ["This username is taken."]}
    response = client.post(
        "/api/register",
        json={"username": "carol2", "email": "carol@example.com", "password": "long-enough"},
    )
    assert response.status_code == 409 and "email" in response.json["errors"]


def test_register_idempotency_key_replays_and_refuses_other_body(client, database):
    body = {"username": "dave", "email": "dave@example.com", "password": "long-enough"}
    headers = {"Idempotency-Key": "key-1"}
    first = client.post("/api/register", json=body, headers=headers)
    second = client.post("/api/register", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json == first.json
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.headers["Location"] == first.headers["Location"]
    with database() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 1
    other = client.post("/api/register", json={**body, "username": "dave2"}, headers=headers)
    assert other.status_code == 422 and other.json["code"] == "idempotency_key_reused"


def test_anonymous_idempotency_keys_belong_to_their_client(client):
    headers = {"Idempotency-Key": "key-1"}
    first = client.post(
        "/api/register",
        json={"username": "fay", "email": "fay@example.com", "password": "long-enough"},
        headers=headers,
        environ_base={"REMOTE_ADDR": "198.51.100.1"},
    )
    other = client.post(
        "/api/register",
        json={"username": "gus", "email": "gus@example.com", "password": "long-enough"},
        headers=headers,
        environ_base={"REMOTE_ADDR": "198.51.100.2"},
    )
    assert first.status_code == other.status_code == 201
    assert "Idempotent-Replayed" not in other.headers


def test_login_by_username_or_email(client, auth):
    auth.register("erin")
    for ident in ({"username": "ERIN"}, {"email": "erin@example.com"}):
        response = client.post("/api/login", json={**ident, "password": "correct horse battery"})
        assert response.status_code == 200
        body = response.json
        assert body["token_type"] == "Bearer" and body["expires_in"] == 900
        assert body["user"]["username"] == "erin" and body["user"]["last_login_at"]
    response = client.post(
        "/api/login", json={"username": "erin", "email": "erin@example.com", "password": "x"}
    )
    assert response.status_code == 422


def test_wrong_password_is_401_and_unknown_user_looks_the_same(client, auth):
    auth.register("frank")
    wrong = client.post("/api/login", json={"username": "frank", "password": "wrong password"})
    unknown = client.post("/api/login", json={"username": "nobody", "password": "wrong password"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json["detail"] == unknown.json["detail"]
    assert wrong.json["code"] == "invalid_credentials"
    assert wrong.headers["WWW-Authenticate"].startswith("Bearer")


def test_repeated_failures_lock_the_account(client, auth):
    auth.register("gina")
    for _ in range(5):
        assert (
            client.post(
                "/api/login", json={"username": "gina", "password": "bad-guess"}
            ).status_code
            == 401
        )
    locked = client.post(
        "/api/login", json={"username": "gina", "password": "correct horse battery"}
    )
    assert locked.status_code == 429
    assert locked.json["code"] == "account_locked"
    assert int(locked.headers["Retry-After"]) > 800


def test_deactivated_account_cannot_log_in(client, auth, database):
    auth.register("hank")
    with database() as session:
        session.scalar(select(User).where(User.username == "hank")).is_active = False
        session.commit()
    response = client.post(
        "/api/login", json={"username": "hank", "password": "correct horse battery"}
    )
    assert response.status_code == 403 and response.json["code"] == "account_disabled"


def test_refresh_rotates_and_reuse_revokes_the_family(client, auth):
    account = auth.account()
    first = client.post(
        "/api/token/refresh", headers={"Authorization": f"Bearer {account.refresh_token}"}
    )
    assert first.status_code == 200
    new_access, new_refresh = first.json["access_token"], first.json["refresh_token"]
    assert (
        client.get("/api/users/me", headers={"Authorization": f"Bearer {new_access}"}).status_code
        == 200
    )
    reuse = client.post(
        "/api/token/refresh", headers={"Authorization": f"Bearer {account.refresh_token}"}
    )
    assert reuse.status_code == 401
    # The whole family is gone: the rotated refresh token and its access token too.
    assert (
        client.post(
            "/api/token/refresh", headers={"Authorization": f"Bearer {new_refresh}"}
        ).status_code
        == 401
    )
    assert (
        client.get("/api/users/me", headers={"Authorization": f"Bearer {new_access}"}).status_code
        == 401
    )


def test_access_token_cannot_refresh_and_refresh_token_cannot_authenticate(client, auth):
    account = auth.account()
    assert client.post("/api/token/refresh", headers=account.headers).status_code == 401
    response = client.get(
        "/api/users/me", headers={"Authorization": f"Bearer {account.refresh_token}"}
    )
    assert response.status_code == 401


def test_logout_revokes_access_and_refresh_tokens_of_that_session_only(client, auth, database):
    account = auth.account()
    other_session = auth.login(account.username)
    assert client.post("/api/logout", headers=account.headers).status_code == 204
    assert client.get("/api/users/me", headers=account.headers).status_code == 401
    refresh = client.post(
        "/api/token/refresh", headers={"Authorization": f"Bearer {account.refresh_token}"}
    )
    assert refresh.status_code == 401
    assert client.get("/api/users/me", headers=other_session.headers).status_code == 200
    assert events_of(database, "user.logout")


def test_password_forgot_is_always_202_and_reset_works_once(client, auth, database):
    account = auth.account()
    unknown = client.post("/api/password/forgot", json={"email": "ghost@example.com"})
    known = client.post("/api/password/forgot", json={"email": account.email.upper()})
    assert unknown.status_code == known.status_code == 202
    assert unknown.json == known.json
    [event] = events_of(database, "user.password_reset_requested")
    token = event["data"]["reset_token"]
    reset = client.post(
        "/api/password/reset", json={"token": token, "new_password": "brand new password"}
    )
    assert reset.status_code == 200
    assert client.get("/api/users/me", headers=account.headers).status_code == 401
    again = client.post(
        "/api/password/reset", json={"token": token, "new_password": "another password"}
    )
    assert again.status_code == 422 and "token" in again.json["errors"]
    assert auth.login(account.username, "brand new password")


def reset_tokens(client, database, email: str) -> list[str]:
    """Ask for a reset; every token issued to this address so far, oldest first."""
    assert client.post("/api/password/forgot", json={"email": email}).status_code == 202
    return [
        event["data"]["reset_token"]
        for event in events_of(database, "user.password_reset_requested")
        if event["data"]["email"] == email
    ]


def reset(client, token: str, password: str = "brand new password"):
    return client.post("/api/password/reset", json={"token": token, "new_password": password})


def test_a_newer_reset_token_spends_the_older_ones(client, auth, database):
    account = auth.account()
    reset_tokens(client, database, account.email)
    older, newer = reset_tokens(client, database, account.email)
    assert reset(client, older).status_code == 422
    assert reset(client, newer).status_code == 200


def _change_password(client, account, admin):
    body = {"password": "changed password", "current_password": account.password}
    return client.patch("/api/users/me", json=body, headers=account.headers)


def _change_email(client, account, admin):
    body = {"email": "elsewhere@example.com", "current_password": account.password}
    return client.patch("/api/users/me", json=body, headers=account.headers)


def _deactivate_and_reactivate(client, account, admin):
    url = f"/api/admin/users/{account.id}"
    assert client.patch(url, json={"is_active": False}, headers=admin.headers).status_code == 200
    return client.patch(url, json={"is_active": True}, headers=admin.headers)


@pytest.mark.parametrize("change", [_change_password, _change_email, _deactivate_and_reactivate])
def test_changing_password_email_or_status_spends_outstanding_reset_tokens(
    client, auth, database, change
):
    account, admin = auth.account(), auth.admin()
    [token] = reset_tokens(client, database, account.email)
    assert change(client, account, admin).status_code == 200
    refused = reset(client, token)
    assert refused.status_code == 422 and "token" in refused.json["errors"]


def test_a_reset_spends_the_other_outstanding_tokens(client, auth, database):
    account = auth.account()
    [first] = reset_tokens(client, database, account.email)
    with database() as session:
        # A second live token, as if issued at the same moment as the first.
        live = session.scalar(select(PasswordResetToken))
        session.add(
            PasswordResetToken(
                user_id=live.user_id,
                token_hash=hashlib.sha256(b"second").hexdigest(),
                expires_at=live.expires_at,
            )
        )
        session.commit()
    assert reset(client, first).status_code == 200
    assert reset(client, "second", "yet another password").status_code == 422


def test_a_deactivated_account_cannot_reset(client, auth, database):
    account = auth.account()
    [token] = reset_tokens(client, database, account.email)
    with database() as session:
        session.get(User, account.id).is_active = False
        session.commit()
    assert reset(client, token).status_code == 422


def test_a_lock_runs_out_and_then_counts_afresh(client, auth, database):
    account = auth.account()
    for _ in range(5):
        wrong = client.post("/api/login", json={"username": account.username, "password": "no"})
        assert wrong.status_code == 401
    with database() as session:
        user = session.get(User, account.id)
        assert user.locked_until is not None
        user.locked_until = user.locked_until - timedelta(hours=1)  # the lock ran out
        session.commit()
    for _ in range(4):
        wrong = client.post("/api/login", json={"username": account.username, "password": "no"})
        assert wrong.status_code == 401
    assert auth.login(account.username)
    with database() as session:
        user = session.get(User, account.id)
        assert (user.failed_logins, user.locked_until) == (0, None)


def test_garbage_tokens_are_401_problems(client):
    for value in ("Bearer", "Bearer not.a.jwt", "Basic abc", "Bearer " + "x" * 5000):
        response = client.get("/api/users/me", headers={"Authorization": value})
        assert response.status_code == 401, value
        assert response.mimetype == PROBLEM and response.json["request_id"]
