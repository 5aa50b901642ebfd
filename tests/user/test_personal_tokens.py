"""Personal access tokens: made once with the password, stored as a keyed hash, limited to
their scopes, listed, revoked by their owner or an admin, revoked with the account, and
refused once expired."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from services.user.models import OutboxEvent, PersonalAccessToken

PROBLEM = "application/problem+json"


def make_token(client, account, scopes=("tasks:read",), **extra):
    body = {"name": "script", "scopes": list(scopes), "current_password": account.password}
    body.update(extra)
    return client.post("/api/users/me/tokens", json=body, headers=account.headers)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def tokens_in_db(database) -> list[PersonalAccessToken]:
    with database() as session:
        return list(session.scalars(select(PersonalAccessToken)))


def test_a_token_is_shown_once_and_stored_as_a_keyed_hash(client, auth, database):
    account = auth.account()
    made = make_token(client, account, scopes=["users:read", "tasks:read"])
    assert made.status_code == 201, made.json
    body = made.json
    secret = body["token"]
    assert secret.startswith("tp_") and len(secret) >= 40
    assert body["prefix"] == secret[:11] and body["scopes"] == ["tasks:read", "users:read"]
    assert made.headers["Location"] == f"/api/users/me/tokens/{body['id']}"
    expires = datetime.fromisoformat(body["expires_at"])
    assert timedelta(days=89) < expires - datetime.now(UTC) <= timedelta(days=90)
    [stored] = tokens_in_db(database)
    assert secret not in (stored.token_hash, stored.prefix)
    assert stored.token_hash != hashlib.sha256(secret.encode()).hexdigest()  # keyed
    listed = client.get("/api/users/me/tokens", headers=account.headers).json
    assert listed["total"] == 1 and "token" not in listed["items"][0]
    assert listed["items"][0]["prefix"] == body["prefix"]
    one = client.get(f"/api/users/me/tokens/{body['id']}", headers=account.headers)
    assert one.status_code == 200 and "ETag" in one.headers and "token" not in one.json
    with database() as session:
        [event] = session.scalars(
            select(OutboxEvent).where(OutboxEvent.type == "user.token_created")
        )
        assert secret not in str(event.payload)


def test_a_token_acts_within_its_scopes_only(client, auth):
    account = auth.account()
    secret = make_token(client, account, scopes=["users:read"]).json["token"]
    me = client.get("/api/users/me", headers=bearer(secret))
    assert me.status_code == 200 and me.json["id"] == account.id
    verified = client.post(
        "/internal/auth/verify",
        json={"token": secret},
        headers={"X-Service-Token": "test-service-token"},
    )
    assert verified.json["scopes"] == ["users:read"]
    assert verified.json["session_id"].startswith("pat:")
    renamed = client.patch("/api/users/me", json={"full_name": "Bot"}, headers=bearer(secret))
    assert renamed.status_code == 403 and renamed.json["scope"] == "users:write"
    assert (
        renamed.headers["WWW-Authenticate"]
        == 'Bearer error="insufficient_scope", scope="users:write"'
    )


def test_a_token_cannot_manage_tokens_sessions_two_factor_or_the_account(client, auth):
    account = auth.account()
    writer = make_token(client, account, scopes=["users:read", "users:write"]).json["token"]
    assert (
        client.patch("/api/users/me", json={"full_name": "Bot"}, headers=bearer(writer)).status_code
        == 200
    )
    calls = [
        ("GET", "/api/users/me/tokens", None),
        (
            "POST",
            "/api/users/me/tokens",
            {"name": "x", "scopes": ["users:read"], "current_password": account.password},
        ),
        ("GET", "/api/users/me/sessions", None),
        ("POST", "/api/users/me/2fa", {"current_password": account.password}),
        ("POST", "/api/logout", None),
        (
            "PATCH",
            "/api/users/me",
            {"email": "bot@example.com", "current_password": account.password},
        ),
        (
            "PATCH",
            "/api/users/me",
            {"password": "a new long password", "current_password": account.password},
        ),
    ]
    for method, path, body in calls:
        refused = client.open(path, method=method, json=body, headers=bearer(writer))
        assert refused.status_code == 403, (method, path, refused.json)
        assert refused.json["code"] == "insufficient_scope" and refused.json["scope"] in (
            "session",
            "signed_in",
        )
    refresh = client.post("/api/token/refresh", headers=bearer(writer))
    assert refresh.status_code == 401
    assert client.get("/api/users/me", headers=account.headers).json["email"] == account.email


def test_bad_input_is_refused_and_writes_nothing(client, auth, database):
    account = auth.account()
    now = datetime.now(UTC)
    cases = [
        ({"scopes": ["tasks:reed"]}, "scopes.0"),
        ({"scopes": []}, "scopes"),
        ({"scopes": ["session"]}, "scopes.0"),
        ({"scopes": ["admin"]}, "scopes"),  # not an admin
        ({"expires_at": (now - timedelta(minutes=1)).isoformat()}, "expires_at"),
        ({"expires_at": (now + timedelta(days=366)).isoformat()}, "expires_at"),
        ({"expires_at": "2030-01-01T00:00:00"}, "expires_at"),  # no UTC offset
        ({"current_password": "a guess"}, "current_password"),
        ({"name": ""}, "name"),
    ]
    for extra, field in cases:
        refused = make_token(client, account, **extra)
        assert refused.status_code == 422, (extra, refused.json)
        assert refused.mimetype == PROBLEM and field in refused.json["errors"], refused.json
    assert tokens_in_db(database) == []
    with database() as session:
        assert (
            session.scalar(select(OutboxEvent).where(OutboxEvent.type == "user.token_created"))
            is None
        )
    fine = make_token(client, account, expires_at=(now + timedelta(days=365)).isoformat())
    assert fine.status_code == 201


def test_only_admins_give_the_admin_scope_and_it_carries_admin_powers(client, auth):
    admin = auth.admin()
    strong = make_token(client, admin, scopes=["admin"]).json["token"]
    weak = make_token(client, admin, scopes=["users:read"]).json["token"]
    assert client.get("/api/admin/users", headers=bearer(strong)).status_code == 200
    refused = client.get("/api/admin/users", headers=bearer(weak))
    assert refused.status_code == 403 and refused.json["code"] == "insufficient_scope"


def test_revoking_a_token_refuses_it_and_its_owner_sees_it_gone(client, auth, database):
    account = auth.account()
    made = make_token(client, account, scopes=["users:read"]).json
    assert client.get("/api/users/me", headers=bearer(made["token"])).status_code == 200
    etag = client.get(f"/api/users/me/tokens/{made['id']}", headers=account.headers).headers["ETag"]
    stale = client.delete(
        f"/api/users/me/tokens/{made['id']}", headers={**account.headers, "If-Match": '"stale"'}
    )
    assert stale.status_code == 412
    gone = client.delete(
        f"/api/users/me/tokens/{made['id']}", headers={**account.headers, "If-Match": etag}
    )
    assert gone.status_code == 204
    refused = client.get("/api/users/me", headers=bearer(made["token"]))
    assert refused.status_code == 401 and "revoked" in refused.json["detail"]
    assert client.get("/api/users/me/tokens", headers=account.headers).json["total"] == 0
    again = client.delete(f"/api/users/me/tokens/{made['id']}", headers=account.headers)
    assert again.status_code == 404
    with database() as session:
        types = [e.type for e in session.scalars(select(OutboxEvent))]
    assert "user.token_revoked" in types


def test_nobody_else_sees_or_revokes_my_token_but_an_admin(client, auth):
    owner, other, admin = auth.account(), auth.account(), auth.admin()
    made = make_token(client, owner, scopes=["users:read"]).json
    path = f"/api/users/me/tokens/{made['id']}"
    assert client.get(path, headers=other.headers).status_code == 404
    assert client.delete(path, headers=other.headers).status_code == 404
    admin_list = f"/api/admin/users/{owner.id}/tokens"
    assert client.get(admin_list, headers=other.headers).status_code == 403
    listed = client.get(admin_list, headers=admin.headers)
    assert listed.status_code == 200 and [t["id"] for t in listed.json["items"]] == [made["id"]]
    assert listed.json["items"][0]["user_id"] == owner.id
    assert client.get("/api/admin/users/999999/tokens", headers=admin.headers).status_code == 404
    revoked = client.delete(f"{admin_list}/{made['id']}", headers=admin.headers)
    assert revoked.status_code == 204
    assert client.get("/api/users/me", headers=bearer(made["token"])).status_code == 401


def test_deactivation_revokes_every_token_and_reactivation_does_not_bring_them_back(client, auth):
    account, admin = auth.account(), auth.admin()
    secrets = [make_token(client, account, scopes=["users:read"]).json["token"] for _ in range(2)]
    path = f"/api/admin/users/{account.id}"
    assert client.patch(path, json={"is_active": False}, headers=admin.headers).status_code == 200
    assert client.patch(path, json={"is_active": True}, headers=admin.headers).status_code == 200
    for secret in secrets:
        assert client.get("/api/users/me", headers=bearer(secret)).status_code == 401


def test_an_expired_token_is_401(client, auth, database):
    account = auth.account()
    made = make_token(client, account, scopes=["users:read"]).json
    with database() as session:
        session.execute(
            update(PersonalAccessToken).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        session.commit()
    refused = client.get("/api/users/me", headers=bearer(made["token"]))
    assert refused.status_code == 401 and refused.json["detail"] == "The token has expired."
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")


def test_last_use_is_noted_without_a_write_per_request(client, auth, database):
    account = auth.account()
    made = make_token(client, account, scopes=["users:read"]).json
    assert made["last_used_at"] is None
    client.get("/api/users/me", headers=bearer(made["token"]))
    first = client.get(f"/api/users/me/tokens/{made['id']}", headers=account.headers).json
    assert first["last_used_at"] is not None
    for _ in range(3):
        client.get("/api/users/me", headers=bearer(made["token"]))
    later = client.get(f"/api/users/me/tokens/{made['id']}", headers=account.headers).json
    assert later["last_used_at"] == first["last_used_at"]  # within LAST_USED_RESOLUTION_SECONDS


def test_an_account_has_at_most_pat_max_per_user_tokens(app, client, auth):
    account = auth.account()
    limit = app.config["PAT_MAX_PER_USER"]
    app.config["PAT_MAX_PER_USER"] = 2
    try:
        assert make_token(client, account).status_code == 201
        assert make_token(client, account).status_code == 201
        refused = make_token(client, account)
        assert refused.status_code == 422 and refused.json["code"] == "too_many_tokens"
    finally:
        app.config["PAT_MAX_PER_USER"] = limit


def test_expiring_tokens_are_listed_for_the_reminder(client, auth):
    account = auth.account()
    soon = make_token(
        client, account, expires_at=(datetime.now(UTC) + timedelta(days=2)).isoformat()
    ).json
    make_token(client, account)  # 90 days
    answer = client.get(
        "/internal/tokens/expiring?hours=72", headers={"X-Service-Token": "test-service-token"}
    )
    assert answer.status_code == 200
    assert [(t["id"], t["user_id"]) for t in answer.json["items"]] == [(soon["id"], account.id)]
    refused = client.get(
        "/internal/tokens/expiring?hours=0", headers={"X-Service-Token": "test-service-token"}
    )
    assert refused.status_code == 422
