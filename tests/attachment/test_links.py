"""Share links: made by members with a bounded expiry, listed, revoked; the shared
download needs no account, sends the safe download headers and nothing else, stops at
expiry, at revocation and with the file, task or project, and is rate limited per link;
only the token's hash is kept."""

from __future__ import annotations

import hashlib
import time

from sqlalchemy import select

from services.attachment.models import IdempotencyRecord, ShareLink


def _link(client, attachment_id: int, by, expires_in=600, headers=None):
    return client.post(
        f"/api/attachments/{attachment_id}/links",
        json={"expires_in": expires_in},
        headers={**by.headers, **(headers or {})},
    )


def test_a_link_downloads_without_an_account_until_revoked(
    client, people, upload, outbox, database
):
    attachment = upload(b"shared words\n", "share.txt").json
    made = _link(client, attachment["id"], people.member)
    assert made.status_code == 201, made.json
    token = made.json["token"]
    assert made.json["url"] == f"/api/files/shared/{token}"
    assert made.json["expired"] is False

    shared = client.get(made.json["url"])
    assert shared.status_code == 200 and shared.data == b"shared words\n"
    assert shared.headers["X-Content-Type-Options"] == "nosniff"
    assert shared.headers["Content-Disposition"].startswith('attachment; filename="share.txt"')
    assert shared.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert "X-RateLimit-Limit" in shared.headers
    # Nothing about the task or project travels with it: the file's own headers only.
    assert {name.lower() for name, _ in shared.headers} <= {
        "content-type",
        "content-length",
        "content-disposition",
        "x-content-type-options",
        "content-security-policy",
        "cache-control",
        "etag",
        "x-request-id",
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
        "retry-after",
    }

    listed = client.get(f"/api/attachments/{attachment['id']}/links", headers=people.member.headers)
    assert [link["id"] for link in listed.json["items"]] == [made.json["id"]]
    assert "token" not in listed.json["items"][0]
    with database() as session:
        [stored] = session.scalars(select(ShareLink.token_hash))
    assert stored == hashlib.sha256(token.encode()).hexdigest()

    revoked = client.delete(
        f"/api/attachments/{attachment['id']}/links/{made.json['id']}",
        headers=people.member.headers,
    )
    assert revoked.status_code == 204
    gone = client.get(made.json["url"])
    assert gone.status_code == 404 and gone.headers["Content-Type"] == "application/problem+json"
    assert [e["data"]["link"]["id"] for e in outbox("attachment.link_created")] == [made.json["id"]]
    assert len(outbox("attachment.link_revoked")) == 1


def test_a_link_stops_at_its_expiry(client, people, upload, app, monkeypatch):
    monkeypatch.setitem(app.config, "SHARE_LINK_MIN_EXPIRY_SECONDS", 1)
    attachment = upload(b"brief\n").json
    made = _link(client, attachment["id"], people.member, expires_in=1).json
    assert client.get(made["url"]).status_code == 200
    time.sleep(1.2)
    expired = client.get(made["url"])
    assert expired.status_code == 404 and expired.json["code"] == "not_found"
    listed = client.get(f"/api/attachments/{attachment['id']}/links", headers=people.member.headers)
    assert listed.json["items"][0]["expired"] is True


def test_guessed_or_truncated_tokens_are_404(client, people, upload):
    attachment = upload(b"secret\n").json
    token = _link(client, attachment["id"], people.member).json["token"]
    for wrong in (token[:-1], token[:10], token + "A", "A" * len(token), "x"):
        response = client.get(f"/api/files/shared/{wrong}")
        assert response.status_code == 404, wrong
        assert response.headers["Content-Type"] == "application/problem+json"
        assert b"secret" not in response.data


def test_bad_expiry_is_422_and_makes_nothing(client, people, upload, database, outbox):
    attachment = upload(b"x\n").json
    for bad in (-1, 0, 10**12, 30 * 24 * 3600 + 1, "soon", None, 1.5):
        response = _link(client, attachment["id"], people.member, expires_in=bad)
        assert response.status_code == 422, bad
        assert response.headers["Content-Type"] == "application/problem+json"
    missing = client.post(
        f"/api/attachments/{attachment['id']}/links", json={}, headers=people.member.headers
    )
    assert missing.status_code == 422
    with database() as session:
        assert list(session.scalars(select(ShareLink.id))) == []
    assert outbox("attachment.link_created") == []


def test_who_may_share(client, people, upload):
    attachment = upload(b"x\n").json
    base = f"/api/attachments/{attachment['id']}/links"
    assert _link(client, attachment["id"], people.viewer).status_code == 403
    assert client.get(base, headers=people.viewer.headers).status_code == 403
    assert _link(client, attachment["id"], people.stranger).status_code == 404
    assert client.get(base, headers=people.stranger.headers).status_code == 404
    assert _link(client, attachment["id"], people.root).status_code == 403
    made = _link(client, attachment["id"], people.member).json
    assert client.get(base, headers=people.root.headers).status_code == 200
    gone = client.delete(f"{base}/{made['id']}", headers=people.stranger.headers)
    assert gone.status_code == 404
    assert client.delete(f"{base}/{made['id']}", headers=people.viewer.headers).status_code == 403
    assert client.delete(f"{base}/999999", headers=people.member.headers).status_code == 404
    assert client.post(base, json={"expires_in": 600}).status_code == 401


def test_links_die_with_their_file_and_task(
    client, people, upload, team, envelope, consume, project_task_service
):
    first = upload(b"first\n").json
    second = upload(b"second\n").json
    link_one = _link(client, first["id"], people.member).json["url"]
    link_two = _link(client, second["id"], people.member).json["url"]
    client.delete(f"/api/attachments/{first['id']}", headers=people.member.headers)
    assert client.get(link_one).status_code == 404
    assert client.get(link_two).status_code == 200

    project_task_service.delete_task(team.task, by=people.owner)
    # At once, before the deletion event arrives: the maker can no longer see the task.
    client.application.extensions["task_access"].clear()
    assert client.get(link_two).status_code == 404
    consume(
        envelope(
            "task.deleted",
            actor=people.owner,
            entity=("task", team.task["id"]),
            project_id=team.project["id"],
            data={"task": team.task},
        )
    )
    assert client.get(link_two).status_code == 404


def test_downloads_are_rate_limited_per_link(client, people, upload, app, monkeypatch):
    monkeypatch.setitem(app.config, "SHARE_LINK_RATE_LIMIT", "3/minute")
    attachment = upload(b"popular\n").json
    busy = _link(client, attachment["id"], people.member).json["url"]
    quiet = _link(client, attachment["id"], people.member).json["url"]
    statuses = [client.get(busy).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = client.get(busy)
    assert limited.json["code"] == "rate_limited" and "Retry-After" in limited.headers
    assert client.get(quiet).status_code == 200


def test_a_replayed_create_keeps_no_token(client, people, upload, database):
    attachment = upload(b"x\n").json
    headers = {"Idempotency-Key": "link-1"}
    made = _link(client, attachment["id"], people.member, headers=headers)
    again = _link(client, attachment["id"], people.member, headers=headers)
    assert made.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json["id"] == made.json["id"] and "token" not in again.json
    with database() as session:
        bodies = " ".join(r.body or "" for r in session.scalars(select(IdempotencyRecord)))
    assert made.json["token"] not in bodies


def test_links_die_with_their_project(client, people, upload, team, envelope, consume, database):
    attachment = upload(b"project file\n").json
    url = _link(client, attachment["id"], people.member).json["url"]
    consume(
        envelope(
            "project.deleted",
            actor=people.owner,
            entity=("project", team.project["id"]),
            project_id=team.project["id"],
        )
    )
    assert client.get(url).status_code == 404
    with database() as session:
        assert list(session.scalars(select(ShareLink.id))) == []
