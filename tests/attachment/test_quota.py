"""The per-project quota: usage counts each distinct content once; an upload or a new
version that would pass the quota is refused with 413 ``quota_exceeded`` (usage and quota
in the body) and nothing stays on disk; GET /api/projects/{id}/storage reports both."""

from __future__ import annotations

import io

import pytest


@pytest.fixture
def quota(app, monkeypatch):
    """``quota(n)``: the projects' quota is ``n`` bytes for this test."""

    def set_quota(size: int) -> None:
        monkeypatch.setitem(app.config, "PROJECT_STORAGE_QUOTA_BYTES", size)

    return set_quota


def _usage(client, team, by):
    return client.get(f"/api/projects/{team.project['id']}/storage", headers=by.headers)


def test_an_upload_past_the_quota_is_refused_and_nothing_is_kept(
    client, people, team, upload, quota, stored_files, outbox
):
    quota(100)
    assert upload(b"a" * 60, "a.txt").status_code == 201
    refused = upload(b"b" * 41, "b.txt")
    assert refused.status_code == 413
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert refused.json["code"] == "quota_exceeded"
    assert refused.json["usage"] == 60 and refused.json["quota"] == 100
    assert [path.read_bytes() for path in stored_files()] == [b"a" * 60]
    assert len(outbox("attachment.uploaded")) == 1
    # Identical bytes cost nothing (they must still fit in the room while they stream).
    assert upload(b"c" * 20, "c.txt").status_code == 201
    assert upload(b"c" * 20, "copy.txt").status_code == 201
    assert _usage(client, team, people.viewer).json["usage"] == 80
    # Exactly the room left fits.
    assert upload(b"e" * 20, "e.txt").status_code == 201
    shown = _usage(client, team, people.viewer)
    assert shown.status_code == 200
    assert shown.json == {"project_id": team.project["id"], "usage": 100, "quota": 100}
    full = upload(b"d", "d.txt")
    assert full.status_code == 413 and full.json["code"] == "quota_exceeded"
    assert len(stored_files()) == 3


def test_a_version_past_the_quota_is_refused_and_a_restore_costs_nothing(
    client, people, upload, quota, stored_files
):
    quota(50)
    first = upload(b"x" * 30).json
    too_big = client.post(
        f"/api/attachments/{first['id']}/versions",
        data={"file": (io.BytesIO(b"y" * 21), "y.txt")},
        content_type="multipart/form-data",
        headers=people.member.headers,
    )
    assert too_big.status_code == 413 and too_big.json["code"] == "quota_exceeded"
    assert too_big.json["usage"] == 30
    fits = client.post(
        f"/api/attachments/{first['id']}/versions",
        data={"file": (io.BytesIO(b"y" * 20), "y.txt")},
        content_type="multipart/form-data",
        headers=people.member.headers,
    )
    assert fits.status_code == 201
    restored = client.post(
        f"/api/attachments/{first['id']}/versions/1/restore", headers=people.member.headers
    )
    assert restored.status_code == 201
    assert len(stored_files()) == 2


def test_deleting_files_gives_the_room_back(client, people, team, upload, quota):
    quota(100)
    made = upload(b"z" * 100).json
    assert upload(b"w").status_code == 413
    client.delete(f"/api/attachments/{made['id']}", headers=people.member.headers)
    assert _usage(client, team, people.member).json["usage"] == 0
    assert upload(b"w").status_code == 201


def test_who_sees_a_projects_storage(client, people, team):
    for who in (people.viewer, people.member, people.owner, people.root):
        assert _usage(client, team, who).status_code == 200
    hidden = _usage(client, team, people.stranger)
    assert hidden.status_code == 404 and hidden.json["code"] == "not_found"
    assert client.get(f"/api/projects/{team.project['id']}/storage").status_code == 401
    assert (
        client.get("/api/projects/999999/storage", headers=people.member.headers).status_code == 404
    )
