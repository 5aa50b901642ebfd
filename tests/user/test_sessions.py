"""Sessions: the owner lists them (user agent, address, when made and last used, which is
the current one) and signs one out, which kills its refresh and access tokens."""

from __future__ import annotations

from sqlalchemy import select

from services.user.models import OutboxEvent


def login_from(client, account, agent: str, address: str):
    response = client.post(
        "/api/login",
        json={"username": account.username, "password": account.password},
        headers={"User-Agent": agent},
        environ_base={"REMOTE_ADDR": address},
    )
    assert response.status_code == 200
    return response.json


def test_sessions_show_where_they_came_from_and_which_is_current(client, auth):
    account = auth.account()
    phone = login_from(client, account, "Phone/1.0", "198.51.100.7")
    laptop = login_from(client, account, "Laptop/2.0", "203.0.113.9")
    listed = client.get(
        "/api/users/me/sessions", headers={"Authorization": f"Bearer {laptop['access_token']}"}
    )
    assert listed.status_code == 200 and listed.json["total"] == 3
    by_agent = {s["user_agent"]: s for s in listed.json["items"]}
    assert by_agent["Phone/1.0"]["ip_address"] == "198.51.100.7"
    assert by_agent["Laptop/2.0"]["current"] is True and by_agent["Phone/1.0"]["current"] is False
    assert by_agent["Phone/1.0"]["signed_in_with"] == "password"
    assert by_agent["Phone/1.0"]["created_at"] and by_agent["Phone/1.0"]["last_used_at"]
    assert "Link" in listed.headers
    assert phone["access_token"] not in listed.text


def test_revoking_a_session_kills_its_refresh_and_access_tokens(client, auth, database):
    account = auth.account()
    stolen = login_from(client, account, "Elsewhere/1.0", "192.0.2.1")
    stolen_headers = {"Authorization": f"Bearer {stolen['access_token']}"}
    sessions = client.get("/api/users/me/sessions", headers=account.headers).json["items"]
    [target] = [s for s in sessions if s["user_agent"] == "Elsewhere/1.0"]
    path = f"/api/users/me/sessions/{target['id']}"
    one = client.get(path, headers=account.headers)
    assert one.status_code == 200 and "ETag" in one.headers
    assert client.delete(path, headers={**account.headers, "If-Match": '"old"'}).status_code == 412
    assert (
        client.delete(
            path, headers={**account.headers, "If-Match": one.headers["ETag"]}
        ).status_code
        == 204
    )
    refused = client.get("/api/users/me", headers=stolen_headers)
    assert refused.status_code == 401
    refresh = client.post(
        "/api/token/refresh", headers={"Authorization": f"Bearer {stolen['refresh_token']}"}
    )
    assert refresh.status_code == 401
    assert client.get("/api/users/me", headers=account.headers).status_code == 200
    assert client.get(path, headers=account.headers).status_code == 404
    with database() as session:
        types = [e.type for e in session.scalars(select(OutboxEvent))]
    assert "user.session_revoked" in types


def test_nobody_sees_or_ends_someone_elses_session(client, auth):
    owner, other = auth.account(), auth.account()
    [mine] = client.get("/api/users/me/sessions", headers=owner.headers).json["items"]
    path = f"/api/users/me/sessions/{mine['id']}"
    assert client.get(path, headers=other.headers).status_code == 404
    assert client.delete(path, headers=other.headers).status_code == 404
    assert client.get("/api/users/me/sessions/not-a-uuid", headers=owner.headers).status_code == 404
    assert client.get("/api/users/me", headers=owner.headers).status_code == 200
