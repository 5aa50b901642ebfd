"""Files end to end, through nginx with the real attachment service and worker: three
versions of one file downloaded one by one, v1 restored as v4, identical bytes stored
once (counted on disk) and removed with their last version; a share link that downloads
without an account until it expires or is revoked; the project quota refusing an upload
with nothing left on disk; bad input answered 404/422 problem+json."""

from __future__ import annotations

import time
from pathlib import Path

from scripts.toolkit.waiting import wait_for
from tests.support.api import team

PROBLEM = "application/problem+json"
MB = 1024 * 1024


def _storage(platform) -> Path:
    env = platform.processes["attachment"].env
    return Path(env.get("ATTACHMENT_STORAGE_DIR") or platform.workdir / "uploads")


def _holding(platform, *contents: bytes) -> list[Path]:
    """The stored files whose bytes are one of ``contents``."""
    return [
        path
        for path in _storage(platform).rglob("*")
        if path.is_file() and path.read_bytes() in contents
    ]


def _task(api, owner, project) -> dict:
    return api.post(
        f"/api/projects/{project['id']}/tasks", token=owner.access_token, json={"title": "Files"}
    ).json()


def test_versions_restore_and_blobs_stored_once(platform, api):
    owner, member, project = team(api)
    task = _task(api, owner, project)
    stamp = str(time.time_ns()).encode()
    contents = [b"v1 " + stamp + b"\n", b"v2 " + stamp + b"\n", b"v3 " + stamp + b"\n"]
    made = api.post(
        f"/api/tasks/{task['id']}/attachments",
        token=member.access_token,
        files={"file": ("plan.txt", contents[0])},
    )
    assert made.status_code == 201, made.text
    attachment = made.json()
    versions = f"/api/attachments/{attachment['id']}/versions"
    for content in contents[1:]:
        added = api.post(versions, token=member.access_token, files={"file": ("plan.txt", content)})
        assert added.status_code == 201, added.text
    listed = api.get(versions, token=owner.access_token).json()["items"]
    assert [v["number"] for v in listed] == [3, 2, 1]
    for number, content in enumerate(contents, start=1):
        download = api.get(f"{versions}/{number}/download", token=owner.access_token)
        assert download.status_code == 200 and download.content == content
        assert download.headers["X-Content-Type-Options"] == "nosniff"

    restored = api.post(f"{versions}/1/restore", token=member.access_token)
    assert restored.status_code == 201 and restored.json()["number"] == 4
    latest = api.get(attachment["download_url"], token=owner.access_token)
    assert latest.content == contents[0]
    # Another file with v1's bytes: still one copy on disk.
    twin = api.post(
        f"/api/tasks/{task['id']}/attachments",
        token=member.access_token,
        files={"file": ("twin.txt", contents[0])},
    ).json()
    assert len(_holding(platform, *contents)) == 3
    assert len(_holding(platform, contents[0])) == 1

    deleted = api.delete(f"/api/attachments/{attachment['id']}", token=member.access_token)
    assert deleted.status_code == 204
    # v2 and v3 went with it; v1's bytes stay for the twin until it goes too.
    assert [p.read_bytes() for p in _holding(platform, *contents)] == [contents[0]]
    api.delete(f"/api/attachments/{twin['id']}", token=member.access_token)
    assert _holding(platform, *contents) == []


def test_a_share_link_works_without_an_account_until_expiry_or_revocation(platform, api):
    owner, member, project = team(api)
    task = _task(api, owner, project)
    attachment = api.post(
        f"/api/tasks/{task['id']}/attachments",
        token=member.access_token,
        files={"file": ("shared.txt", b"for everyone\n")},
    ).json()
    links = f"/api/attachments/{attachment['id']}/links"
    lasting = api.post(links, token=member.access_token, json={"expires_in": 3600}).json()
    brief = api.post(links, token=member.access_token, json={"expires_in": 1}).json()

    anonymous = type(api)(platform.url)
    shared = anonymous.get(lasting["url"])
    assert shared.status_code == 200 and shared.content == b"for everyone\n"
    assert shared.headers["X-Content-Type-Options"] == "nosniff"
    assert shared.headers["Content-Disposition"].startswith("attachment;")
    assert anonymous.get(brief["url"]).status_code in (200, 404)
    assert wait_for(lambda: anonymous.get(brief["url"]).status_code == 404, timeout=5)

    token = lasting["token"]
    for wrong in (token[:-2], token[::-1], "guessed"):
        refused = anonymous.get(f"/api/files/shared/{wrong}")
        assert refused.status_code == 404 and refused.headers["Content-Type"] == PROBLEM

    revoked = api.delete(f"{links}/{lasting['id']}", token=member.access_token)
    assert revoked.status_code == 204
    gone = anonymous.get(lasting["url"])
    assert gone.status_code == 404 and gone.headers["Content-Type"] == PROBLEM

    # A link dies with its task (checked at download, and the deletion event removes it).
    again = api.post(links, token=member.access_token, json={"expires_in": 3600}).json()
    assert anonymous.get(again["url"]).status_code == 200
    api.delete(f"/api/tasks/{task['id']}", token=owner.access_token)
    assert wait_for(lambda: anonymous.get(again["url"]).status_code == 404, timeout=20)


def test_the_quota_refuses_an_upload_and_keeps_nothing(platform, api):
    owner, member, project = team(api)
    task = _task(api, owner, project)
    url = f"/api/tasks/{task['id']}/attachments"
    stamp = str(time.time_ns()).encode()
    first = stamp + b"a" * (3 * MB // 2)
    second = stamp + b"b" * MB
    assert api.post(url, token=member.access_token, files={"file": ("a.txt", first)}).ok
    refused = api.post(url, token=member.access_token, files={"file": ("b.txt", second)})
    assert refused.status_code == 413 and refused.headers["Content-Type"] == PROBLEM
    body = refused.json()
    assert body["code"] == "quota_exceeded"
    assert body["usage"] == len(first) and body["quota"] == 2 * MB
    assert _holding(platform, second) == []
    assert len(api.get(url, token=member.access_token).json()["items"]) == 1
    usage = api.get(f"/api/projects/{project['id']}/storage", token=member.access_token)
    assert usage.status_code == 200 and usage.json()["usage"] == len(first)


def test_bad_input_is_404_or_422(api):
    owner, member, project = team(api)
    stranger = api.account()
    task = _task(api, owner, project)
    attachment = api.post(
        f"/api/tasks/{task['id']}/attachments",
        token=member.access_token,
        files={"file": ("x.txt", b"x\n")},
    ).json()
    hidden = api.post(
        f"/api/attachments/{attachment['id']}/versions",
        token=stranger.access_token,
        files={"file": ("y.txt", b"y\n")},
    )
    assert hidden.status_code == 404 and hidden.headers["Content-Type"] == PROBLEM
    links = f"/api/attachments/{attachment['id']}/links"
    for expiry in (-5, 0, 10**10):
        bad = api.post(links, token=member.access_token, json={"expires_in": expiry})
        assert bad.status_code == 422 and bad.headers["Content-Type"] == PROBLEM
    assert api.get(links, token=member.access_token).json()["items"] == []
    storage = api.get(f"/api/projects/{project['id']}/storage", token=stranger.access_token)
    assert storage.status_code == 404
