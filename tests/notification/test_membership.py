"""Nobody hears about a project they left: with the real project-task service producing
the events (through its outbox relay), a real notification worker process consuming
them, a real SMTP server (aiosmtpd) and a real webhook receiver.

A member removed from a project receives nothing about it afterwards, by e-mail, in-app
or on their webhook, including an e-mail and a webhook delivery that were queued before
the removal and retried after it. What reached them before stays readable.
"""

from __future__ import annotations

import time

import pytest
import requests
from sqlalchemy import select

from scripts.toolkit.waiting import wait_for
from services.notification.models import EmailDelivery, WebhookDelivery
from tests.notification.conftest import notification_app, notification_worker
from tests.support.servers import WebhookReceiver, serve

# The worker retries a refused e-mail or webhook after 2 to 4 s: time to remove the
# member in between. A removal is in force once the members cache (0.5 s) expired.
SETTINGS = {
    "EMAIL_RETRY_BASE_SECONDS": 4.0,
    "WEBHOOK_RETRY_BASE_SECONDS": 4.0,
    "MEMBERSHIP_CACHE_SECONDS": 0.5,
}


@pytest.fixture(scope="module")
def notification(backing, user_service, project_task_service, smtp):
    """The notification service on a database of its own, asking the real project-task."""
    return notification_app(
        backing,
        "notification_membership",
        user_service.url,
        project_task_service.url,
        smtp,
        **SETTINGS,
    )


@pytest.fixture(scope="module")
def worker(notification, smtp, tmp_path_factory):
    log_path = tmp_path_factory.mktemp("membership-worker") / "worker.log"
    with notification_worker(notification, log_path, smtp) as process:
        yield process


def rows(app, model, **where) -> list:
    with app.app_context():
        db = app.extensions["sqlalchemy"]
        found = db.session.scalars(select(model).filter_by(**where).order_by(model.id)).all()
        db.session.remove()
        return list(found)


@pytest.fixture
def witness(smtp, receiver):
    """A second receiver, for a global admin's webhook: it sees every event go by. (The
    shared SMTP server and receiver are left empty for the next test.)"""
    server = serve(WebhookReceiver())
    yield server
    server.close()
    smtp.clear()
    receiver.reset()


def test_a_removed_member_hears_nothing_more_about_the_project(
    notification, worker, project_task_service, user_service, smtp, receiver, witness
):
    owner, member, admin = (
        user_service.account(),
        user_service.account(),
        user_service.account(admin=True),
    )
    client = notification.test_client()
    project = project_task_service.project(owner)
    project_task_service.add_member(project, member, "member", by=owner)
    for account, url in ((member, receiver.url), (admin, witness.url)):
        response = client.post(
            "/api/webhooks",
            json={
                "url": url,
                "event_types": ["task.assigned", "task.status_changed"],
            },
            headers=account.headers,
        )
        assert response.status_code == 201, response.json
    task = project_task_service.task(project, by=member)  # the member reports it

    def set_task(**fields):
        response = requests.patch(
            f"{project_task_service.url}/api/tasks/{task['id']}",
            json=fields,
            headers=owner.headers,
            timeout=10,
        )
        assert response.status_code == 200, response.text

    def received(server):
        return [r.json()["type"] for r in server.requests]

    # A member: told of the assignment by e-mail, in-app and on their webhook.
    set_task(assignee_id=member.id)
    assert wait_for(lambda: smtp.to(member.email) and received(receiver), timeout=20)

    # Queued while a member, refused once by the SMTP server and the receiver, retried
    # after the removal: withheld.
    smtp.refuse_next(1)
    receiver.failures_left = 1
    set_task(status="in_progress")
    assert wait_for(lambda: smtp.inbox.refuse == 0 and receiver.failed == 1, timeout=20)
    response = requests.delete(
        f"{project_task_service.url}/api/projects/{project['id']}/members/{member.id}",
        headers=owner.headers,
        timeout=10,
    )
    assert response.status_code == 204
    # In force on every channel once the members the worker cached have expired.
    time.sleep(SETTINGS["MEMBERSHIP_CACHE_SECONDS"] + 0.2)

    # After the removal: the member is not even queued anything.
    set_task(status="in_review")
    assert wait_for(lambda: received(witness).count("task.status_changed") == 2, timeout=20)

    def settled():
        return not rows(notification, EmailDelivery, status="pending") and not rows(
            notification, WebhookDelivery, status="pending"
        )

    assert wait_for(settled, timeout=20)
    assert [m["Subject"] for m in smtp.to(member.email)] == [f"You were assigned: {task['title']}"]
    assert received(receiver) == ["task.assigned"]
    emails = rows(notification, EmailDelivery, user_id=member.id)
    assert [(e.template, e.status) for e in emails] == [
        ("task.assigned", "sent"),
        ("task.status_changed", "withheld"),
    ]
    withheld = [d for d in rows(notification, WebhookDelivery) if d.status == "withheld"]
    assert [d.event_type for d in withheld] == ["task.status_changed"]
    # What reached the member while they were in the project stays readable.
    notes = client.get("/api/notifications", headers=member.headers).json["items"]
    assert sorted(n["type"] for n in notes) == ["task.assigned", "task.status_changed"]
    assert all(n["data"]["project_id"] == project["id"] for n in notes)
