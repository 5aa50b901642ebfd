"""Attachments: upload, list, download byte-identical with safe headers, delete; who may
do what; events, Idempotency-Key and If-Match."""

from __future__ import annotations

import hashlib
import io
import re
import struct
import zlib
from collections.abc import Callable

from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from services.attachment.models import IdempotencyRecord
from tests.support.probes import answers_alike, record_calls

PROBLEM = "application/problem+json"


def png_bytes() -> bytes:
    """A real 1x1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def test_upload_list_and_download_byte_identical_with_safe_headers(
    client, team, people, upload, stored_files, outbox
):
    content = "Grüße aus Köln\n".encode() * 1000
    response = upload(content, "Grüße & notes.txt")

    assert response.status_code == 201, response.json
    attachment = response.json
    sha256 = hashlib.sha256(content).hexdigest()
    assert response.headers["Location"] == f"/api/attachments/{attachment['id']}"
    assert attachment == {
        "id": attachment["id"],
        "task_id": team.task["id"],
        "filename": "Grüße & notes.txt",
        "content_type": "text/plain",
        "size": len(content),
        "sha256": sha256,
        "uploaded_by": people.member.id,
        "created_at": attachment["created_at"],
        "version": 1,
        "download_url": f"/api/attachments/{attachment['id']}/download",
    }
    [on_disk] = stored_files()
    assert re.fullmatch(r"[0-9a-f]{32}", on_disk.name) and on_disk.read_bytes() == content

    listed = client.get(team.url, headers=people.viewer.headers)
    assert listed.status_code == 200 and listed.json["items"] == [attachment]
    one = client.get(
        attachment["download_url"].removesuffix("/download"), headers=people.viewer.headers
    )
    assert one.json == attachment and one.headers["ETag"] == response.headers["ETag"]

    download = client.get(attachment["download_url"], headers=people.viewer.headers)
    assert download.status_code == 200
    assert download.data == content
    assert download.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert download.headers["Content-Length"] == str(len(content))
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["ETag"] == f'"{sha256}"'
    assert download.headers["Content-Disposition"] == (
        'attachment; filename="Grue & notes.txt"; '
        "filename*=UTF-8''Gr%C3%BC%C3%9Fe%20&%20notes.txt"
    )
    again = client.get(
        attachment["download_url"],
        headers={**people.viewer.headers, "If-None-Match": f'"{sha256}"'},
    )
    assert again.status_code == 304 and again.data == b""

    [uploaded] = outbox("attachment.uploaded")
    assert uploaded["entity"] == {"type": "attachment", "id": attachment["id"]}
    assert uploaded["project_id"] == team.project["id"]
    assert uploaded["data"] == {
        "attachment": {
            "id": attachment["id"],
            "task_id": team.task["id"],
            "filename": "Grüße & notes.txt",
            "size": len(content),
            "content_type": "text/plain",
        },
        "task": {
            "id": team.task["id"],
            "title": team.task["title"],
            "assignee_id": None,
            "reporter_id": people.owner.id,
        },
    }


def test_an_image_keeps_its_detected_type(client, people, upload):
    image = png_bytes()
    response = upload(image, "pixel.PNG")

    assert response.status_code == 201 and response.json["content_type"] == "image/png"
    download = client.get(response.json["download_url"], headers=people.member.headers)
    assert download.data == image and download.headers["Content-Type"] == "image/png"
    assert download.headers["Content-Disposition"] == (
        "attachment; filename=\"pixel.PNG\"; filename*=UTF-8''pixel.PNG"
    )


def test_the_declared_type_is_ignored(client, team, people, stored_files):
    import io

    response = client.post(
        team.url,
        data={"file": (io.BytesIO(b"just words"), "a.pdf", "application/pdf")},
        content_type="multipart/form-data",
        headers=people.member.headers,
    )
    assert response.status_code == 201 and response.json["content_type"] == "text/plain"


def test_delete_removes_the_file_and_the_row(client, people, upload, stored_files, outbox):
    attachment = upload(b"bye").json
    assert len(stored_files()) == 1

    response = client.delete(f"/api/attachments/{attachment['id']}", headers=people.member.headers)

    assert response.status_code == 204
    assert stored_files() == []
    assert (
        client.get(
            f"/api/attachments/{attachment['id']}", headers=people.member.headers
        ).status_code
        == 404
    )
    assert client.get(attachment["download_url"], headers=people.member.headers).status_code == 404
    [deleted] = outbox("attachment.deleted")
    assert deleted["data"]["attachment"]["id"] == attachment["id"]
    assert deleted["actor"]["id"] == people.member.id


def test_a_file_already_gone_does_not_stop_a_delete(client, people, upload, stored_files):
    attachment = upload(b"vanishing").json
    stored_files()[0].unlink()

    assert client.get(attachment["download_url"], headers=people.member.headers).status_code == 404
    response = client.delete(f"/api/attachments/{attachment['id']}", headers=people.member.headers)
    assert response.status_code == 204


def test_who_may_do_what(client, team, people, upload, stored_files):
    by_member = upload(b"member's", by=people.member).json
    by_admin = upload(b"admin's", by=people.admin).json
    by_owner = upload(b"owner's", by=people.owner).json
    url = lambda a: f"/api/attachments/{a['id']}"  # noqa: E731

    refused = upload(b"viewer's", by=people.viewer)
    assert refused.status_code == 403 and refused.json["code"] == "forbidden"
    root_upload = upload(b"root's", by=people.root)
    assert root_upload.status_code == 403
    for reader in (people.viewer, people.root):
        assert client.get(team.url, headers=reader.headers).json["total"] == 3
        assert client.get(by_owner["download_url"], headers=reader.headers).data == b"owner's"
    for action in (
        client.get(team.url, headers=people.stranger.headers),
        upload(b"stranger's", by=people.stranger),
        client.get(url(by_member), headers=people.stranger.headers),
        client.get(by_member["download_url"], headers=people.stranger.headers),
        client.delete(url(by_member), headers=people.stranger.headers),
    ):
        assert action.status_code == 404 and action.mimetype == PROBLEM
    assert client.delete(url(by_admin), headers=people.member.headers).status_code == 403
    assert client.delete(url(by_member), headers=people.viewer.headers).status_code == 403
    assert client.delete(url(by_member), headers=people.admin.headers).status_code == 204
    assert client.delete(url(by_admin), headers=people.admin.headers).status_code == 204
    assert client.delete(url(by_owner), headers=people.root.headers).status_code == 204
    assert stored_files() == []


class BodyThatRunsOnFirstRead(io.BytesIO):
    """A request body that calls ``on_first_read`` when the service starts reading it,
    that is after the access check and before the file is stored."""

    def __init__(self, body: bytes, on_first_read: Callable[[], None]) -> None:
        super().__init__(body)
        self._on_first_read: Callable[[], None] | None = on_first_read

    def _first_read(self) -> None:
        if self._on_first_read is not None:
            run, self._on_first_read = self._on_first_read, None
            run()

    def read(self, size: int | None = -1) -> bytes:
        self._first_read()
        return super().read(size)

    def readinto(self, buffer) -> int:
        self._first_read()
        return super().readinto(buffer)


def test_a_hidden_attachment_answers_exactly_like_one_that_never_existed(
    client, people, upload, monkeypatch
):
    """Same status, body (but its request id) and headers, after the same calls to
    project-task, for every verb: the first look at each asks project-task once, the
    next ones are answered from the cache."""
    hidden = upload().json["id"]
    missing = hidden + 1_000_000
    calls = record_calls(monkeypatch, "/internal/tasks/")
    attempts = [
        ("GET", "", {}),
        ("GET", "/download", {}),
        ("GET", "/download", {"headers": {"If-None-Match": '"0"'}}),
        ("DELETE", "", {}),
        ("DELETE", "", {"headers": {"If-Match": '"0"'}}),
    ]
    urls = (f"/api/attachments/{hidden}", f"/api/attachments/{missing}")

    status, body, _, _ = answers_alike(client, calls, urls, attempts, people.stranger.headers)

    assert (status, body["detail"]) == (404, "No such attachment.")
    assert (
        client.get(f"/api/attachments/{hidden}", headers=people.member.headers).status_code == 200
    )


def test_an_upload_whose_task_is_deleted_while_it_streams_is_refused_and_kept_nowhere(
    client, team, people, project_task_service, upload, nothing_kept, count_rows
):
    deleted = []

    def delete_task() -> None:
        project_task_service.delete_task(team.task, by=people.owner)
        deleted.append(team.task["id"])

    boundary, body = encode_multipart(
        {"file": FileStorage(io.BytesIO(b"written while the task went away\n"), "late.txt")}
    )
    response = client.post(
        team.url,
        input_stream=BodyThatRunsOnFirstRead(body, delete_task),
        content_length=len(body),
        content_type=f"multipart/form-data; boundary={boundary}",
        headers={**people.member.headers, "Idempotency-Key": "late-upload"},
    )

    assert deleted == [team.task["id"]]
    assert response.status_code == 404 and response.mimetype == PROBLEM
    missing_task = upload(task={"id": 10**9}).json
    assert {k: v for k, v in response.json.items() if k != "request_id"} == {
        k: v for k, v in missing_task.items() if k != "request_id"
    }
    assert nothing_kept() and count_rows(IdempotencyRecord) == 0


def test_idempotency_key_replays_the_first_upload(
    client, team, people, upload, stored_files, database
):
    key = {"Idempotency-Key": "upload-once"}

    first = upload(b"same bytes", "a.txt", headers=key)
    again = upload(b"same bytes", "a.txt", headers=key)
    other = upload(b"other bytes", "a.txt", headers=key)

    assert first.status_code == 201 and again.status_code == 201
    assert again.json == first.json and again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == first.headers["Location"]
    assert other.status_code == 422 and other.json["code"] == "idempotency_key_reused"
    assert len(stored_files()) == 1
    assert client.get(team.url, headers=people.member.headers).json["total"] == 1


def test_if_match_guards_deletes(client, people, upload, stored_files):
    attachment = upload(b"guarded").json
    url = f"/api/attachments/{attachment['id']}"

    stale = client.delete(url, headers={**people.member.headers, "If-Match": '"nope"'})
    assert stale.status_code == 412 and stale.json["code"] == "precondition_failed"
    assert len(stored_files()) == 1
    etag = client.get(url, headers=people.member.headers).headers["ETag"]
    fresh = client.delete(url, headers={**people.member.headers, "If-Match": etag})
    assert fresh.status_code == 204 and stored_files() == []


def test_an_allow_list_refuses_other_types(app, upload, nothing_kept, monkeypatch):
    monkeypatch.setitem(app.config, "ATTACHMENT_ALLOW_TYPES", ("image/png",))

    refused = upload(b"plain words", "words.txt")
    assert refused.status_code == 415 and nothing_kept()
    assert upload(png_bytes(), "ok.png").status_code == 201


def test_lists_are_oldest_first_and_paginated(client, team, people, upload):
    ids = [upload(f"file {n}".encode(), f"{n}.txt").json["id"] for n in range(3)]

    page = client.get(f"{team.url}?per_page=2&page=2", headers=people.viewer.headers)

    assert [a["id"] for a in page.json["items"]] == ids[2:]
    assert page.json["total"] == 3 and page.json["pages"] == 2
    assert 'rel="prev"' in page.headers["Link"]
