"""R3 (docs/testing.md): a notification worker killed with SIGKILL in the middle of sending an
e-mail (the SMTP server holds it in the RCPT stage). The job is redelivered once its
visibility timeout passes (15 s here) and completes on a worker started elsewhere; the
member gets exactly one e-mail and one in-app notification.
"""

from __future__ import annotations

import signal
import time

import pytest

from scripts import stack
from scripts.toolkit.processes import Process
from scripts.toolkit.waiting import wait_for
from tests.support.api import notifications, team


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
