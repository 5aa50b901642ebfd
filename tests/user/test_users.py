"""The caller's own account, public profiles, batch lookup and administration."""

from __future__ import annotations

from sqlalchemy import select

from services.user.models import OutboxEvent, User


def test_me_has_etag_and_if_match_guards_updates(client, auth):
    account = auth.account()
    me = client.get("/api/users/me", headers=account.headers)
    etag = me.headers["ETag"]
    updated = client.patch(
        "/api/users/me",
        json={"full_name": "New Name"},
        headers={**account.headers, "If-Match": etag},
    )
    assert updated.status_code == 200 and updated.json["full_name"] == "New Name"
    assert updated.headers["ETag"] != etag
    stale = client.patch(
        "/api/users/me", json={"full_name": "Other"}, headers={**account.headers, "If-Match": etag}
    )
    assert stale.status_code == 412 and stale.json["code"] == "precondition_failed"
    assert client.get("/api/users/me", headers=account.headers).json["full_name"] == "New Name"
    blind = client.patch("/api/users/me", json={"full_name": "Last Write"}, headers=account.headers)
    assert blind.status_code == 200 and blind.json["full_name"] == "Last Write"


def test_put_needs_every_editable_field(client, auth):
    account = auth.account()
    response = client.put("/api/users/me", json={"full_name": "Only Name"}, headers=account.headers)
    assert response.status_code == 422 and "email" in response.json["errors"]
    response = client.put(
        "/api/users/me",
        json={"full_name": None, "email": "put@example.com", "current_password": account.password},
        headers=account.headers,
    )
    assert response.status_code == 200 and response.json["email"] == "put@example.com"


def test_cannot_take_someone_elses_email(client, auth):
    first, second = auth.account(), auth.account()
    body = {"email": first.email, "current_password": second.password}
    response = client.patch("/api/users/me", json=body, headers=second.headers)
    assert response.status_code == 409 and "email" in response.json["errors"]


def test_email_change_needs_current_password_and_tells_the_old_address(client, auth, database):
    account = auth.account()
    other = auth.login(account.username)
    for body in (
        {"email": "taken-over@example.com"},
        {"email": "taken-over@example.com", "current_password": "a guess"},
    ):
        refused = client.patch("/api/users/me", json=body, headers=account.headers)
        assert refused.status_code == 422 and "current_password" in refused.json["errors"]
    put = client.put(
        "/api/users/me",
        json={"email": "taken-over@example.com", "full_name": None},
        headers=account.headers,
    )
    assert put.status_code == 422 and "current_password" in put.json["errors"]
    assert client.get("/api/users/me", headers=account.headers).json["email"] == account.email
    with database() as session:
        assert not session.scalars(
            select(OutboxEvent).where(OutboxEvent.type == "user.email_changed")
        ).all()

    changed = client.patch(
        "/api/users/me",
        json={"email": "New@Example.com", "current_password": account.password},
        headers=account.headers,
    )

    assert changed.status_code == 200 and changed.json["email"] == "new@example.com"
    with database() as session:
        [event] = session.scalars(
            select(OutboxEvent).where(OutboxEvent.type == "user.email_changed")
        )
        assert event.payload["data"] == {"old_email": account.email, "new_email": "new@example.com"}
        assert event.payload["entity"] == {"type": "user", "id": account.id}
    # The e-mail is not what signs in: the other sessions stay.
    assert client.get("/api/users/me", headers=other.headers).status_code == 200
    same = client.patch(
        "/api/users/me",
        json={"email": "new@example.com", "full_name": "X"},
        headers=account.headers,
    )
    assert same.status_code == 200  # an unchanged e-mail needs no password


def test_wrong_current_passwords_lock_the_account_like_login(client, auth):
    account = auth.account()
    body = {"password": "new password!", "current_password": "a guess"}
    for _ in range(5):
        wrong = client.patch("/api/users/me", json=body, headers=account.headers)
        assert wrong.status_code == 422
    right = {"password": "new password!", "current_password": account.password}
    locked = client.patch("/api/users/me", json=right, headers=account.headers)
    assert locked.status_code == 429 and locked.json["code"] == "account_locked"
    assert int(locked.headers["Retry-After"]) > 800
    login = client.post(
        "/api/login", json={"username": account.username, "password": account.password}
    )
    assert login.status_code == 429
    assert client.get("/api/users/me", headers=account.headers).status_code == 200


def test_a_right_current_password_clears_the_count(client, auth):
    account = auth.account()
    guess = {"full_name": "G", "email": "g@example.com", "current_password": "a guess"}
    for _ in range(4):
        assert client.put("/api/users/me", json=guess, headers=account.headers).status_code == 422
    right = {**guess, "current_password": account.password}
    assert client.put("/api/users/me", json=right, headers=account.headers).status_code == 200
    for _ in range(4):
        wrong = client.post("/api/login", json={"username": account.username, "password": "no"})
        assert wrong.status_code == 401
    assert auth.login(account.username)


def test_password_change_needs_current_password_and_revokes_other_sessions(client, auth, database):
    account = auth.account()
    other = auth.login(account.username)
    wrong = client.patch(
        "/api/users/me",
        json={"password": "new password!", "current_password": "nope"},
        headers=account.headers,
    )
    assert wrong.status_code == 422 and "current_password" in wrong.json["errors"]
    missing = client.patch(
        "/api/users/me", json={"password": "new password!"}, headers=account.headers
    )
    assert missing.status_code == 422
    changed = client.patch(
        "/api/users/me",
        json={"password": "new password!", "current_password": account.password},
        headers=account.headers,
    )
    assert changed.status_code == 200
    assert client.get("/api/users/me", headers=account.headers).status_code == 200
    assert client.get("/api/users/me", headers=other.headers).status_code == 401
    assert auth.login(account.username, "new password!")
    with database() as session:
        [event] = session.scalars(select(OutboxEvent).where(OutboxEvent.type == "user.updated"))
        assert event.payload["changes"] == {"password": ["***", "***"]}


def test_public_profile_and_batch_lookup_show_only_public_fields(client, auth):
    first, second = auth.account(full_name="First Person"), auth.account()
    profile = client.get(f"/api/users/{first.id}", headers=second.headers)
    assert profile.status_code == 200
    assert profile.json == {"id": first.id, "username": first.username, "full_name": "First Person"}
    assert client.get("/api/users/999999", headers=second.headers).status_code == 404
    batch = client.get(f"/api/users?ids={second.id},{first.id},999999", headers=first.headers)
    assert batch.status_code == 200
    assert [u["id"] for u in batch.json["items"]] == sorted([first.id, second.id])
    assert all(set(u) == {"id", "username", "full_name"} for u in batch.json["items"])
    for bad in ("", "1,x", ",".join(str(i) for i in range(1, 202)), "-1"):
        assert client.get(f"/api/users?ids={bad}", headers=first.headers).status_code == 422
    assert client.get(f"/api/users/{first.id}").status_code == 401


def test_admin_endpoints_need_admin(client, auth):
    user = auth.account()
    assert client.get("/api/admin/users", headers=user.headers).status_code == 403
    assert (
        client.patch(
            f"/api/admin/users/{user.id}", json={"role": "admin"}, headers=user.headers
        ).status_code
        == 403
    )
    assert client.get("/api/admin/users").status_code == 401


def test_admin_lists_searches_filters_and_paginates(client, auth):
    admin = auth.admin()
    for name in ("zed", "zoe", "amy"):
        auth.register(name, full_name=f"{name.title()} Example")
    page = client.get("/api/admin/users?q=z&sort=-username&per_page=1", headers=admin.headers)
    assert page.status_code == 200
    body = page.json
    assert body["total"] == 2 and body["pages"] == 2 and body["per_page"] == 1
    assert [u["username"] for u in body["items"]] == ["zoe"]
    assert 'rel="next"' in page.headers["Link"] and "page=2" in page.headers["Link"]
    admins = client.get("/api/admin/users?role=admin", headers=admin.headers).json
    assert [u["id"] for u in admins["items"]] == [admin.id]
    assert client.get("/api/admin/users?per_page=201", headers=admin.headers).status_code == 422
    assert (
        client.get("/api/admin/users?sort=password_hash", headers=admin.headers).status_code == 422
    )


def test_deactivation_revokes_tokens_and_blocks_login(client, auth):
    admin, user = auth.admin(), auth.account()
    response = client.patch(
        f"/api/admin/users/{user.id}", json={"is_active": False}, headers=admin.headers
    )
    assert response.status_code == 200 and response.json["is_active"] is False
    assert client.get("/api/users/me", headers=user.headers).status_code == 401
    login = client.post("/api/login", json={"username": user.username, "password": user.password})
    assert login.status_code == 403


def test_role_change_applies_to_existing_tokens(client, auth):
    admin, user = auth.admin(), auth.account()
    assert client.get("/api/admin/users", headers=user.headers).status_code == 403
    client.patch(f"/api/admin/users/{user.id}", json={"role": "admin"}, headers=admin.headers)
    assert client.get("/api/admin/users", headers=user.headers).status_code == 200


def test_admin_cannot_demote_self_and_bad_updates_change_nothing(client, auth, database):
    admin, user = auth.admin(), auth.account()
    assert (
        client.patch(
            f"/api/admin/users/{admin.id}", json={"role": "user"}, headers=admin.headers
        ).status_code
        == 409
    )
    for body in ({}, {"role": "superuser"}, {"is_active": "maybe"}, {"email": "x@example.com"}):
        response = client.patch(f"/api/admin/users/{user.id}", json=body, headers=admin.headers)
        assert response.status_code == 422, body
    with database() as session:
        stored = session.get(User, user.id)
        assert (stored.role, stored.is_active, stored.email) == ("user", True, user.email)
    assert (
        client.patch(
            "/api/admin/users/999999", json={"role": "admin"}, headers=admin.headers
        ).status_code
        == 404
    )
