"""R8 (docs/testing.md): the SMTP server down for a long while. No e-mail is lost and none is sent
twice: e-mails made during the outage stay pending, still being tried (an SMTP server
that is away uses up no retry budget; the wait between tries is capped), and each one is
delivered exactly once when the server returns, also when the server takes one and the
connection drops before the worker hears its QUIT answered.

The SMTP server is a process of its own (aiosmtpd, ``tests/support/mail_sink.py``),
killed and started again on the same port; two real notification workers send to it.
CI runs a 30 s outage; full scale is ``RESILIENCE_R8_DOWN_SECONDS=600`` (with
``RESILIENCE_R8_RETRY_MAX_SECONDS=300``, the production cap, to run it as deployed).
Nothing in the behaviour depends on the length: at the end of the outage every e-mail
is pending and was tried within the last cap, however long the outage was.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from scripts import stack
from scripts.toolkit.processes import Process
from scripts.toolkit.waiting import wait_for
from services.common.config import database_url
from services.common.db import UTCDateTime
from tests.resilience.conftest import scale
from tests.support.api import team
from tests.support.mail_sink import MailSink

DOWN_SECONDS = scale("r8_down_seconds", 30)
EMAILS = scale("r8_emails", 8)
# EMAIL_RETRY_MAX_SECONDS of the workers: the longest wait between two tries.
RETRY_MAX_SECONDS = scale("r8_retry_max_seconds", 5)
DROPPED = 2  # e-mails whose connection the returning server drops after taking them


@pytest.fixture
def mail_sink(tmp_path):
    sink = MailSink(tmp_path / "maildir")
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture
def mail_workers(platform, mail_sink):
    """Two notification workers sending to the mail sink, instead of the platform's."""
    service = stack.SERVICES["notification"]
    env = {
        **platform.service_env(service),
        "MAIL_PORT": str(mail_sink.port),
        "EMAIL_RETRY_MAX_SECONDS": str(RETRY_MAX_SECONDS),
        # As in production: above the longest wait of a retry (a held retry is not
        # redelivered meanwhile).
        "CELERY_VISIBILITY_TIMEOUT": "3600",
    }
    workers = [
        Process(
            f"notification-worker-r8-{number}",
            stack.worker_command(service, concurrency=1),
            env,
            platform.log(f"notification-worker-r8-{number}"),
        )
        for number in (1, 2)
    ]
    platform.stop("notification-worker")
    try:
        for worker in workers:
            worker.spawn()
        for worker in workers:
            worker.wait_ready(wait_log=" ready.")
        yield workers
    finally:
        for worker in workers:
            worker.stop()
        platform.start("notification-worker")


@pytest.fixture
def notification_db(platform):
    engine = sa.create_engine(database_url(platform.databases["notification"]))
    yield engine
    engine.dispose()


def _deliveries(engine, recipient: str) -> list[sa.Row]:
    with engine.connect() as connection:
        return connection.execute(
            sa.text(
                "SELECT subject, status, attempts, updated_at FROM email_deliveries"
                " WHERE recipient = :recipient"
            ).columns(updated_at=UTCDateTime()),
            {"recipient": recipient},
        ).all()


def _failed_sends(engine) -> int:
    with engine.connect() as connection:
        return connection.scalar(
            sa.text("SELECT count(*) FROM failed_jobs WHERE task_name = 'notification.send_email'")
        )


def test_smtp_down_loses_no_email_and_sends_none_twice(
    platform, api, mail_sink, mail_workers, notification_db
):
    owner, member, project = team(api)
    tasks_url = f"/api/projects/{project['id']}/tasks"
    run = random.randint(10000, 99999)

    def assign(title: str) -> None:
        response = api.post(
            tasks_url, token=owner.access_token, json={"title": title, "assignee_id": member.id}
        )
        assert response.status_code == 201, response.text

    def received(prefix: str) -> list[str]:
        return [m["Subject"] for m in mail_sink.to(member.email) if prefix in m["Subject"]]

    assign(f"Before the outage {run}")
    assert wait_for(lambda: received(f"Before the outage {run}"), timeout=30)
    failed_before = _failed_sends(notification_db)

    mail_sink.stop()
    stopped = time.monotonic()
    titles = [f"Outage {run} e-mail {number}" for number in range(EMAILS)]
    for number, title in enumerate(titles):
        assign(title)
        # Spread over the first half of the outage.
        pace = stopped + DOWN_SECONDS / 2 * (number + 1) / EMAILS
        time.sleep(max(0.0, pace - time.monotonic()))
    time.sleep(max(0.0, stopped + DOWN_SECONDS - time.monotonic()))

    outage = [row for row in _deliveries(notification_db, member.email) if "Outage" in row.subject]
    assert len(outage) == EMAILS
    assert {row.status for row in outage} == {"pending"}, "an e-mail was given up"
    assert _failed_sends(notification_db) == failed_before
    # Still being tried, however long the outage has lasted.
    now = datetime.now(UTC)
    for row in outage:
        assert row.attempts > 1
        idle = (now - row.updated_at).total_seconds()
        assert idle < RETRY_MAX_SECONDS + 10, f"{row.subject}: no try for {idle:.0f} s"

    mail_sink.start(drop_first=DROPPED)
    returned = time.monotonic()
    everything = wait_for(
        lambda: len(received(f"Outage {run}")) >= EMAILS, timeout=RETRY_MAX_SECONDS + 30
    )
    assert everything, f"{len(received(f'Outage {run}'))} of {EMAILS} e-mails after the return"
    delivered_after = time.monotonic() - returned
    # Whatever is still being tried has had its next try by now.
    time.sleep(RETRY_MAX_SECONDS + 2)
    subjects = received(f"Outage {run}")
    assert sorted(subjects) == sorted(f"You were assigned: {title}" for title in titles)
    statuses = {row.status for row in _deliveries(notification_db, member.email)}
    assert statuses == {"sent"}
    print(
        f"R8: {EMAILS} e-mails made during a {DOWN_SECONDS} s SMTP outage, each delivered"
        f" once {delivered_after:.1f} s after the server returned"
    )
