"""Dependencies dying under the platform (SPEC §11 R2, R3 at test scale), with real
processes: the platform's own Redis server is stopped mid-writes, and a notification
worker is killed with SIGKILL in the middle of sending an e-mail."""

from __future__ import annotations

import signal
import time

import pytest

from scripts import stack
from tests.e2e.test_background import notifications, team, wait_for
from tests.support.platform import Process


def test_redis_down_during_writes_loses_nothing(platform, api):
    owner, member, project = team(api)
    tasks_url = f"/api/projects/{project['id']}/tasks"
    platform.stop("redis")
    try:
        for number in range(100):
            response = api.post(
                tasks_url,
                token=owner.access_token,
                json={"title": f"Written while Redis is down {number}", "assignee_id": member.id},
            )
            assert response.status_code == 201, response.text
    finally:
        platform.start("redis")
    restarted = time.monotonic()

    def all_logged() -> bool:
        response = api.get(
            f"/api/activities?project_id={project['id']}&action=task.created&limit=200",
            token=owner.access_token,
        )
        return response.status_code == 200 and len(response.json()["items"]) == 100

    def all_notified() -> bool:
        response = api.get("/api/notifications/unread-count", token=member.access_token)
        return response.status_code == 200 and response.json()["count"] >= 100

    assert wait_for(all_logged, timeout=30), "activity entries missing 30 s after Redis returned"
    assert wait_for(all_notified, timeout=30 - (time.monotonic() - restarted) + 1)
    assigned = api.get("/api/notifications?per_page=200", token=member.access_token).json()
    assert sum(n["type"] == "task.assigned" for n in assigned["items"]) == 100


@pytest.fixture
def spare_notification_worker(platform):
    """A second notification worker, started on demand ("elsewhere")."""
    service = stack.SERVICES["notification"]
    process = Process(
        "notification-worker-spare",
        stack.worker_command(service, concurrency=1),
        platform.service_env(service),
        platform.log("notification-worker-spare"),
        0,
    )
    yield process
    process.stop()


def test_worker_killed_mid_email_completes_elsewhere_without_duplicates(
    platform, api, smtp, spare_notification_worker
):
    owner, member, project = team(api)
    smtp.inbox.rcpt_started.clear()
    smtp.inbox.rcpt_delay = 30.0  # the worker hangs in the SMTP conversation
    killed = platform.processes["notification-worker"]
    try:
        task = api.post(
            f"/api/projects/{project['id']}/tasks",
            token=owner.access_token,
            json={"title": "Survive a crash", "assignee_id": member.id},
        ).json()
        assert smtp.inbox.rcpt_started.wait(20), "the e-mail job never reached the SMTP server"
        killed.stop(signal.SIGKILL)
        smtp.inbox.rcpt_delay = 0.0
        spare_notification_worker.start(wait_log=" ready.")
        mails = wait_for(
            lambda: [m for m in smtp.to(member.email) if "Survive a crash" in m["Subject"]],
            timeout=60,
        )
        assert len(mails) == 1
        time.sleep(3)
        assert len([m for m in smtp.to(member.email) if "Survive a crash" in m["Subject"]]) == 1
        assert len(notifications(api, member, "task.assigned")) == 1
        assert task["id"]
    finally:
        smtp.inbox.rcpt_delay = 0.0
        if not killed.running:
            platform.start("notification-worker")
