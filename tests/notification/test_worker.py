"""Through a real Celery worker process (``celery -A services.notification.worker worker
-Q notification --pool=solo``): events in, e-mails out at the SMTP server; webhook
retries with backoff; auto-disable with the owner told; the user service's reset event."""

from __future__ import annotations

import pytest
import requests
from sqlalchemy import select

from scripts.toolkit.waiting import wait_for as wait_until
from services.common.registry import SERVICES
from services.notification.models import FailedJob, WebhookDelivery
from tests.notification.conftest import envelope, notification_worker, task_data

QUEUE = SERVICES["notification"].queue


@pytest.fixture(scope="module")
def worker(_notification_app, smtp, tmp_path_factory):
    log_path = tmp_path_factory.mktemp("worker") / "worker.log"
    with notification_worker(_notification_app, log_path, smtp) as process:
        yield process


def publish(app, event: dict) -> None:
    """Hand an event to the queue as the producers' outbox relay does."""
    app.extensions["celery"].send_task("notification.consume_event", args=[event], queue=QUEUE)


def test_an_assignment_event_becomes_a_notification_and_an_email(app, worker, client, smtp, people):
    event = envelope(
        "task.assigned",
        people.alice,
        data={"task": task_data(title="Via worker", assignee_id=people.bob.id)},
        changes={"assignee_id": [None, people.bob.id]},
    )

    publish(app, event)
    publish(app, event)  # delivered twice: still one notification, one e-mail

    assert wait_until(lambda: smtp.to(people.bob.email), timeout=20)
    [note] = client.get("/api/notifications", headers=people.bob.headers).json["items"]
    assert note["title"] == "You were assigned: Via worker"
    assert not wait_until(lambda: len(smtp.messages) > 1, timeout=1.5)
    assert smtp.to(people.alice.email) == []


def test_a_password_reset_at_the_user_service_is_emailed(app, worker, smtp, user_service, people):
    response = requests.post(
        f"{user_service.url}/api/password/forgot", json={"email": people.carol.email}, timeout=10
    )
    assert response.status_code == 202

    assert wait_until(lambda: smtp.to(people.carol.email), timeout=20)
    [message] = smtp.to(people.carol.email)
    assert message["Subject"] == "Reset your password"
    assert "one-time token" in message.get_payload(decode=True).decode()


def test_an_email_change_at_the_user_service_is_told_to_the_old_address(
    app, worker, smtp, user_service
):
    account = user_service.account()
    response = requests.patch(
        f"{user_service.url}/api/users/me",
        json={"email": "moved@example.org", "current_password": account.password},
        headers=account.headers,
        timeout=10,
    )
    assert response.status_code == 200

    assert wait_until(lambda: smtp.to(account.email), timeout=20)
    [message] = smtp.to(account.email)
    assert message["Subject"] == "The e-mail address of your account was changed"
    assert "m****@e******.org" in message.get_payload(decode=True).decode()
    assert smtp.to("moved@example.org") == []


def test_a_receiver_failing_three_times_then_recovering_gets_the_delivery(
    app, worker, client, receiver, project_task, database, people
):
    response = client.post(
        "/api/webhooks",
        json={"url": receiver.url + "/flaky", "event_types": ["task.assigned"]},
        headers=people.root.headers,
    )
    hook = response.json
    receiver.failures_left = 3
    event = envelope(
        "task.assigned",
        people.alice,
        data={"task": task_data(assignee_id=people.bob.id)},
        changes={"assignee_id": [None, people.bob.id]},
    )

    publish(app, event)

    assert wait_until(lambda: receiver.requests, timeout=20)
    assert receiver.failed == 3
    assert receiver.requests[0].json()["event_id"] == event["event_id"]

    def delivered():
        with database() as session:
            return session.scalar(
                select(WebhookDelivery).where(WebhookDelivery.status != "pending")
            )

    assert wait_until(delivered, timeout=5)
    with database() as session:
        delivery = session.scalar(select(WebhookDelivery))
        assert (delivery.status, delivery.attempts, delivery.response_status) == (
            "delivered",
            4,
            200,
        )
    current = client.get(f"/api/webhooks/{hook['id']}", headers=people.root.headers).json
    assert current["is_active"] is True and current["failure_count"] == 0


def test_an_always_failing_receiver_gets_the_webhook_disabled_and_its_owner_told(
    app, worker, client, receiver, project_task, smtp, database, people
):
    response = client.post(
        "/api/webhooks",
        json={"url": receiver.url + "/down", "event_types": ["task.status_changed"]},
        headers=people.alice.headers,
    )
    hook = response.json
    receiver.always_fail = True
    project_task.members[1] = [{"user_id": people.alice.id, "role": "member"}]
    max_failures = app.config["WEBHOOK_MAX_FAILURES"]
    for _ in range(max_failures):
        publish(
            app,
            envelope(
                "task.status_changed",
                people.bob,
                data={"task": task_data(reporter_id=people.bob.id)},
                changes={"status": ["todo", "done"]},
            ),
        )

    def disabled():
        body = client.get(f"/api/webhooks/{hook['id']}", headers=people.alice.headers).json
        return body["is_active"] is False

    assert wait_until(disabled, timeout=40)
    current = client.get(f"/api/webhooks/{hook['id']}", headers=people.alice.headers).json
    assert current["failure_count"] == max_failures and current["disabled_at"]
    assert receiver.failed == max_failures * app.config["WEBHOOK_MAX_ATTEMPTS"]
    assert wait_until(lambda: smtp.to(people.alice.email), timeout=20)
    assert smtp.to(people.alice.email)[0]["Subject"].startswith("Webhook disabled:")
    notes = client.get("/api/notifications", headers=people.alice.headers).json["items"]
    assert [n["type"] for n in notes] == ["webhook.disabled"]
    log = client.get(f"/api/webhooks/{hook['id']}/deliveries", headers=people.alice.headers)
    assert {d["status"] for d in log.json["items"]} == {"failed"}
    with database() as session:
        assert session.scalars(select(FailedJob)).all() == []
