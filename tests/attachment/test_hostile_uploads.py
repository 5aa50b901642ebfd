"""Hostile uploads are refused cleanly (problem+json) and leave nothing on disk or in the
database; a path in the file name is cut down to its last segment."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from services.attachment.models import Attachment, OutboxEvent
from tests.support.volumes import files_in, fill, small_volume

PROBLEM = "application/problem+json"
MIB = 1024 * 1024

ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + b"\x00" * 200
PE = (
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"
    + b"\x00" * 44
    + b"\x80\x00\x00\x00"
    + b"\x00" * 64
    + b"PE\x00\x00"
    + b"\x00" * 200
)
MACH_O = b"\xcf\xfa\xed\xfe\x07\x00\x00\x01" + b"\x00" * 200
SCRIPT = b"#!/bin/sh\nrm -rf --no-preserve-root /\n"


def test_a_path_in_the_name_is_stored_as_its_last_segment(
    client, people, upload, stored_files, storage_dir
):
    response = upload(b"root:x:0:0:root:/root:/bin/bash\n", "../../etc/passwd")

    assert response.status_code == 201 and response.json["filename"] == "passwd"
    [on_disk] = stored_files()
    assert on_disk.parent.parent == storage_dir and re.fullmatch(r"[0-9a-f]{32}", on_disk.name)
    download = client.get(response.json["download_url"], headers=people.member.headers)
    assert download.headers["Content-Disposition"] == (
        "attachment; filename=\"passwd\"; filename*=UTF-8''passwd"
    )
    # (Werkzeug's multipart parser already reads a backslash as a quoted-string escape.)
    windows = upload(b"x", "..\\..\\Windows\\win.ini").json["filename"]
    assert windows.endswith("win.ini") and "\\" not in windows and "/" not in windows
    sneaky = upload(b"x", "evil\u202egnp.exe\x07").json
    assert sneaky["filename"] == "evilgnp.exe"
    assert upload(b"x", "..").json["filename"] == "file"


def test_a_long_name_is_shortened_keeping_its_extension(upload):
    response = upload(b"x", "a" * 400 + ".txt")
    assert response.json["filename"] == "a" * 251 + ".txt"


def test_an_empty_file_is_422(upload, nothing_kept):
    response = upload(b"", "empty.txt")

    assert response.status_code == 422 and response.mimetype == PROBLEM
    assert "file" in response.json["errors"]
    assert nothing_kept()


def test_one_byte_over_the_limit_is_413_from_the_app(app, upload, nothing_kept):
    assert app.config["MAX_UPLOAD_BYTES"] == 25 * MIB
    response = upload(b"a" * (25 * MIB + 1), "big.txt")

    assert response.status_code == 413 and response.mimetype == PROBLEM
    assert response.json["code"] == "payload_too_large"
    assert nothing_kept()


def test_exactly_the_limit_is_accepted(upload, stored_files):
    response = upload(b"a" * (25 * MIB), "big.txt")
    assert response.status_code == 201 and response.json["size"] == 25 * MIB
    assert stored_files()[0].stat().st_size == 25 * MIB


def test_a_body_far_over_the_limit_is_refused_before_it_is_read(upload, nothing_kept):
    response = upload(b"a" * (26 * MIB), "huge.txt")

    assert response.status_code == 413 and response.json["code"] == "payload_too_large"
    assert nothing_kept()


@pytest.mark.parametrize(
    ("content", "detected"),
    [
        (ELF, "application/x-executable"),
        (PE, "application/vnd.microsoft.portable-executable"),
        (MACH_O, "application/x-mach-binary"),
        (SCRIPT, "text/x-script"),
    ],
)
def test_an_executable_named_png_is_415(upload, nothing_kept, content, detected):
    response = upload(content, "cute-cat.png")

    assert response.status_code == 415 and response.mimetype == PROBLEM
    assert response.json["code"] == "unsupported_media_type"
    assert detected in response.json["errors"]["file"][0]
    assert nothing_kept()


def test_a_missing_file_field_is_422(client, team, people, nothing_kept):
    response = client.post(
        team.url,
        data={"document": (io.BytesIO(b"wrong field"), "a.txt"), "note": "hi"},
        content_type="multipart/form-data",
        headers=people.member.headers,
    )

    assert response.status_code == 422 and response.mimetype == PROBLEM
    assert "file" in response.json["errors"]
    assert nothing_kept()


def test_a_file_field_without_a_file_is_422(client, team, people, nothing_kept):
    response = client.post(
        team.url,
        data={"file": "just a string"},
        content_type="multipart/form-data",
        headers=people.member.headers,
    )
    assert response.status_code == 422 and nothing_kept()


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ('{"file": "aGVsbG8="}', "application/json"),
        ("hello", "text/plain"),
        (b"\x7fELF", "application/octet-stream"),
        ("file=hello", "application/x-www-form-urlencoded"),
    ],
)
def test_a_body_that_is_not_multipart_is_415(
    client, team, people, nothing_kept, body, content_type
):
    response = client.post(
        team.url, data=body, content_type=content_type, headers=people.member.headers
    )

    assert response.status_code == 415 and response.mimetype == PROBLEM
    assert response.json["code"] == "unsupported_media_type"
    assert nothing_kept()


def test_a_full_volume_is_a_507_keeping_nothing_and_uploads_work_once_space_returns(
    client, people, team, upload, storage_dir, database
):
    """R9 (docs/testing.md), in-process (``tests/resilience/test_volume_full.py`` has it with the
    service under gunicorn behind nginx)."""
    content = b"a full disk\n" * 50_000  # 600 kB, more than is left
    with small_volume(storage_dir, 1024):
        filler = fill(storage_dir, leave_bytes=256 * 1024)
        response = upload(content, "big.txt")

        assert response.status_code == 507 and response.mimetype == PROBLEM
        assert response.json["code"] == "insufficient_storage"
        assert files_in(storage_dir) == []
        with database() as session:
            assert session.scalar(select(func.count()).select_from(Attachment)) == 0
            assert session.scalar(select(func.count()).select_from(OutboxEvent)) == 0

        filler.unlink()
        again = upload(content, "big.txt")
        assert again.status_code == 201, again.json
        download = client.get(again.json["download_url"], headers=people.member.headers)
        assert download.data == content
        listing = client.get(team.url, headers=people.member.headers).json["items"]
        assert [item["id"] for item in listing] == [again.json["id"]]
