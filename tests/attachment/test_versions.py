"""Versions: a new version is received like a first upload, listed newest first,
downloadable one by one, restorable as a new version; the attachment is its latest
version; identical bytes are stored once and a blob goes when no version refers to it."""

from __future__ import annotations

import io
import threading

from sqlalchemy import func, select

from services.attachment.models import AttachmentVersion, Blob


def _send_version(client, attachment_id: int, content: bytes, filename: str, by, headers=None):
    return client.post(
        f"/api/attachments/{attachment_id}/versions",
        data={"file": (io.BytesIO(content), filename)},
        content_type="multipart/form-data",
        headers={**by.headers, **(headers or {})},
    )


def test_three_versions_each_downloadable_and_v1_restored_as_v4(
    client, people, upload, stored_files, outbox
):
    first = upload(b"version one\n", "plan.txt").json
    second = _send_version(client, first["id"], b"version two\n", "plan-2.txt", people.member)
    assert second.status_code == 201, second.json
    assert second.json["number"] == 2 and second.json["filename"] == "plan-2.txt"
    assert second.headers["Location"] == f"/api/attachments/{first['id']}/versions/2/download"
    third = _send_version(client, first["id"], b"version three\n", "plan.txt", people.admin)
    assert third.status_code == 201 and third.json["number"] == 3

    listed = client.get(f"/api/attachments/{first['id']}/versions", headers=people.viewer.headers)
    assert listed.status_code == 200
    assert [v["number"] for v in listed.json["items"]] == [3, 2, 1]
    for number, content in ((1, b"version one\n"), (2, b"version two\n"), (3, b"version three\n")):
        download = client.get(
            f"/api/attachments/{first['id']}/versions/{number}/download",
            headers=people.viewer.headers,
        )
        assert download.status_code == 200 and download.data == content
        assert download.headers["X-Content-Type-Options"] == "nosniff"
        assert download.headers["Content-Disposition"].startswith("attachment;")
    latest = client.get(first["download_url"], headers=people.viewer.headers)
    assert latest.data == b"version three\n"

    restored = client.post(
        f"/api/attachments/{first['id']}/versions/1/restore", headers=people.member.headers
    )
    assert restored.status_code == 201, restored.json
    assert restored.json["number"] == 4 and restored.json["restored_from"] == 1
    assert client.get(first["download_url"], headers=people.viewer.headers).data == (
        b"version one\n"
    )
    meta = client.get(f"/api/attachments/{first['id']}", headers=people.viewer.headers).json
    assert meta["version"] == 4 and meta["filename"] == "plan.txt"
    # Four versions, three distinct contents: three files on disk.
    assert sorted(path.read_bytes() for path in stored_files()) == [
        b"version one\n",
        b"version three\n",
        b"version two\n",
    ]
    assert [e["data"]["version"] for e in outbox("attachment.version_uploaded")] == [2, 3]
    [event] = outbox("attachment.version_restored")
    assert event["data"]["version"] == 4 and event["data"]["restored_from"] == 1


def test_identical_bytes_are_stored_once_and_go_with_their_last_version(
    client, people, upload, stored_files, database
):
    one = upload(b"same bytes\n", "a.txt").json
    two = upload(b"same bytes\n", "b.txt").json
    _send_version(client, one["id"], b"other bytes\n", "a.txt", people.member)
    assert len(stored_files()) == 2

    deleted = client.delete(f"/api/attachments/{one['id']}", headers=people.member.headers)
    assert deleted.status_code == 204
    # "same bytes" is still the other attachment's; "other bytes" was only the deleted one's.
    assert [path.read_bytes() for path in stored_files()] == [b"same bytes\n"]
    client.delete(f"/api/attachments/{two['id']}", headers=people.member.headers)
    assert stored_files() == []
    with database() as session:
        assert session.scalar(select(func.count()).select_from(Blob)) == 0
        assert session.scalar(select(func.count()).select_from(AttachmentVersion)) == 0


def test_concurrent_versions_are_numbered_apart_and_share_one_blob(
    app, people, upload, stored_files
):
    first = upload(b"start\n").json
    statuses = []

    def send(content: bytes) -> None:
        client = app.test_client()
        response = _send_version(client, first["id"], content, "x.txt", people.member)
        statuses.append((response.status_code, response.json.get("number")))

    threads = [threading.Thread(target=send, args=(b"same new bytes\n",)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [(201, 2), (201, 3), (201, 4), (201, 5)]
    assert sorted(path.read_bytes() for path in stored_files()) == [b"same new bytes\n", b"start\n"]


def test_every_upload_rule_holds_for_versions(client, people, upload, stored_files, app):
    first = upload(b"fine\n").json
    url = f"/api/attachments/{first['id']}/versions"
    elf = b"\x7fELF\x02\x01\x01" + b"\x00" * 64
    refused = _send_version(client, first["id"], elf, "innocent.txt", people.member)
    assert refused.status_code == 415 and refused.json["code"] == "unsupported_media_type"
    empty = _send_version(client, first["id"], b"", "empty.txt", people.member)
    assert empty.status_code == 422
    not_multipart = client.post(
        url, data=b"raw", headers={**people.member.headers, "Content-Type": "text/plain"}
    )
    assert not_multipart.status_code == 415
    hostile = _send_version(client, first["id"], b"named\n", "../../etc/passwd", people.member)
    assert hostile.status_code == 201 and hostile.json["filename"] == "passwd"
    app.config["MAX_UPLOAD_BYTES"], saved = 10, app.config["MAX_UPLOAD_BYTES"]
    try:
        big = _send_version(client, first["id"], b"x" * 11, "big.txt", people.member)
    finally:
        app.config["MAX_UPLOAD_BYTES"] = saved
    assert big.status_code == 413 and big.json["code"] == "payload_too_large"
    assert sorted(path.read_bytes() for path in stored_files()) == [b"fine\n", b"named\n"]
    numbers = client.get(url, headers=people.member.headers).json["items"]
    assert [v["number"] for v in numbers] == [2, 1]


def test_who_may_do_what_with_versions(client, people, upload):
    first = upload(b"mine\n").json
    base = f"/api/attachments/{first['id']}/versions"
    assert _send_version(client, first["id"], b"v\n", "v.txt", people.viewer).status_code == 403
    assert client.post(f"{base}/1/restore", headers=people.viewer.headers).status_code == 403
    for who in (people.stranger,):
        assert _send_version(client, first["id"], b"v\n", "v.txt", who).status_code == 404
        assert client.get(base, headers=who.headers).status_code == 404
        hidden = client.get(f"{base}/1/download", headers=who.headers)
        assert hidden.status_code == 404
        assert hidden.headers["Content-Type"] == "application/problem+json"
        assert client.post(f"{base}/1/restore", headers=who.headers).status_code == 404
    assert client.get(base, headers=people.root.headers).status_code == 200
    assert _send_version(client, first["id"], b"v\n", "v.txt", people.root).status_code == 403
    missing = client.get(f"{base}/9/download", headers=people.viewer.headers)
    assert missing.status_code == 404 and missing.json["code"] == "not_found"
    assert client.post(f"{base}/9/restore", headers=people.member.headers).status_code == 404
    nowhere = client.get("/api/attachments/999999/versions", headers=people.member.headers)
    assert nowhere.status_code == 404


def test_a_repeated_version_upload_with_its_key_is_replayed(client, people, upload, stored_files):
    first = upload(b"one\n").json
    headers = {"Idempotency-Key": "v-2"}
    made = _send_version(client, first["id"], b"two\n", "two.txt", people.member, headers)
    again = _send_version(client, first["id"], b"two\n", "two.txt", people.member, headers)
    assert made.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true" and again.json == made.json
    assert len(stored_files()) == 2


def test_an_identical_upload_racing_the_delete_of_its_bytes_keeps_them(
    app, people, upload, stored_files, database
):
    """Deleting the last file that holds some bytes while the same bytes are uploaded
    again: whichever wins the hash's lock, the new file is downloadable and every blob
    row has its file on disk."""
    content = b"raced bytes\n"
    for _ in range(5):
        doomed = upload(content).json
        made: list[dict] = []

        def delete(attachment_id: int) -> None:
            app.test_client().delete(
                f"/api/attachments/{attachment_id}", headers=people.member.headers
            )

        def again(into: list[dict]) -> None:
            into.append(upload(content).json)

        threads = [
            threading.Thread(target=delete, args=(doomed["id"],)),
            threading.Thread(target=again, args=(made,)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        [fresh] = made
        download = app.test_client().get(fresh["download_url"], headers=people.member.headers)
        assert download.status_code == 200 and download.data == content
        with database() as session:
            keys = set(session.scalars(select(Blob.storage_key)))
        assert {path.name for path in stored_files()} == keys
        app.test_client().delete(f"/api/attachments/{fresh['id']}", headers=people.member.headers)
    assert stored_files() == []
