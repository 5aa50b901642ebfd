"""R9 (docs/testing.md): the attachment volume full. An upload answers 507 problem+json
(``insufficient_storage``) and leaves no row and no partial file; once space returns,
uploads work again. The reports volume full: the report ends ``failed`` with a plain
error, its requester is told, no half-written file is left (or ever served); with room
again, reports complete.

The services run as the platform runs them (gunicorn behind nginx, the reporting
worker); each volume is a small tmpfs mounted over the directory the service writes to
(``tests/support/volumes.py``, needs root as CI has), filled to a few kilobytes, and
unmounted afterwards.
"""

from __future__ import annotations

import time
from pathlib import Path

from scripts.toolkit.waiting import wait_for
from tests.support.api import notifications, team
from tests.support.volumes import files_in, fill, small_volume

PROBLEM = "application/problem+json"
CONTENT = b"an upload bigger than the room left\n" * 20_000  # 720 kB


def _volume(platform, service: str, setting: str, default: str) -> Path:
    """The directory ``service`` keeps its files in (its setting, or the default under
    the platform's VAR_DIR)."""
    return Path(platform.processes[service].env.get(setting) or platform.workdir / default)


def test_a_full_attachment_volume_is_507_keeping_nothing_until_space_returns(platform, api):
    owner, member, project = team(api)
    task = api.post(
        f"/api/projects/{project['id']}/tasks", token=owner.access_token, json={"title": "Files"}
    ).json()
    url = f"/api/tasks/{task['id']}/attachments"
    volume = _volume(platform, "attachment", "ATTACHMENT_STORAGE_DIR", "uploads")

    def upload():
        return api.post(url, token=member.access_token, files={"file": ("big.txt", CONTENT)})

    with small_volume(volume, 1024):
        filler = fill(volume, leave_bytes=256 * 1024)
        refused = upload()

        assert refused.status_code == 507, refused.text
        assert refused.headers["Content-Type"] == PROBLEM
        assert refused.json()["code"] == "insufficient_storage"
        assert api.get(url, token=member.access_token).json()["items"] == []
        assert files_in(volume) == []

        filler.unlink()
        stored = upload()
        assert stored.status_code == 201, stored.text
        download = api.get(stored.json()["download_url"], token=member.access_token)
        assert download.content == CONTENT
        listing = api.get(url, token=member.access_token).json()["items"]
        assert [item["id"] for item in listing] == [stored.json()["id"]]
        # Its file goes with the volume: no row left behind without its file.
        deleted = api.delete(f"/api/attachments/{stored.json()['id']}", token=member.access_token)
        assert deleted.status_code == 204


def test_a_full_report_volume_fails_the_report_cleanly_until_space_returns(platform, api):
    owner, _, project = team(api)
    volume = _volume(platform, "reporting", "REPORT_STORAGE_DIR", "reports")

    def finished_report() -> dict:
        response = api.post(
            "/api/reports",
            token=owner.access_token,
            json={
                "type": "project_summary",
                "params": {"project_id": project["id"]},
                "format": "pdf",
            },
        )
        assert response.status_code == 202, response.text
        location = f"/api/reports/{response.json()['id']}"

        def finished() -> dict | None:
            report = api.get(location, token=owner.access_token).json()
            return report if report["status"] in ("completed", "failed") else None

        report = wait_for(finished, timeout=60, interval=0.2)
        assert report, "the report did not finish within 60 s"
        return report

    with small_volume(volume, 512):
        filler = fill(volume, leave_bytes=4096)
        report = finished_report()

        assert report["status"] == "failed", report
        assert "No room is left to store the report" in report["error"]
        assert report["download_url"] is None
        assert files_in(volume) == []
        download = api.get(f"/api/reports/{report['id']}/download", token=owner.access_token)
        assert download.status_code == 409
        told = wait_for(lambda: notifications(api, owner, "report.failed"), timeout=30)
        assert [n["data"].get("report_id") for n in told] == [report["id"]], told

        filler.unlink()
        started = time.monotonic()
        again = finished_report()
        assert again["status"] == "completed", again
        download = api.get(again["download_url"], token=owner.access_token)
        assert download.status_code == 200 and download.content.startswith(b"%PDF")
        assert time.monotonic() - started < 60
        # Their files go with the volume; later tests (schemathesis reads as an admin)
        # find no report left behind.
        for each in (report, again):
            deleted = api.delete(f"/api/reports/{each['id']}", token=owner.access_token)
            assert deleted.status_code == 204
