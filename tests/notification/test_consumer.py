"""Domain events become in-app notifications and e-mails (docs/services.md), once each, never for
the actor's own action, and as the recipients' preferences say."""

from __future__ import annotations

from sqlalchemy import func, select

from services.notification.consumer import mask_email
from services.notification.models import (
    EmailDelivery,
    Notification,
    NotificationTemplate,
    ProcessedEvent,
)
from tests.notification.conftest import envelope, task_data


def count(database, model, **filters) -> int:
    with database() as session:
        return session.scalar(select(func.count()).select_from(model).filter_by(**filters))


def notifications_of(client, account) -> list[dict]:
    response = client.get("/api/notifications", headers=account.headers)
    assert response.status_code == 200, response.json
    return response.json["items"]


def test_task_assigned_notifies_the_assignee_in_app_and_by_email(
    client, jobs, smtp, people, database
):
    task = task_data(7, title="Ship it", assignee_id=people.bob.id, reporter_id=people.alice.id)
    event = envelope(
        "task.assigned",
        people.alice,
        data={"task": task},
        changes={"assignee_id": [None, people.bob.id]},
    )

    jobs.consume(event)

    [notification] = notifications_of(client, people.bob)
    assert notification["type"] == "task.assigned"
    assert notification["title"] == "You were assigned: Ship it"
    assert notification["read"] is False
    assert notification["data"]["task_id"] == 7
    assert notifications_of(client, people.alice) == []
    assert jobs.send_emails() == 1
    [message] = smtp.messages
    assert message["X-Envelope-To"] == people.bob.email
    assert message["Subject"] == "You were assigned: Ship it"
    assert "assigned you the task" in message.get_payload(decode=True).decode()
    with database() as session:
        delivery = session.scalar(select(EmailDelivery))
        assert (delivery.status, delivery.attempts, delivery.sent_at is not None) == (
            "sent",
            1,
            True,
        )


def test_the_actor_is_never_notified_of_their_own_action(client, jobs, people, database):
    task = task_data(assignee_id=people.alice.id, reporter_id=people.alice.id)
    event = envelope(
        "task.assigned",
        people.alice,
        data={"task": task},
        changes={"assignee_id": [None, people.alice.id]},
    )

    jobs.consume(event)

    assert notifications_of(client, people.alice) == []
    assert count(database, EmailDelivery) == 0
    assert count(database, ProcessedEvent) == 1


def test_a_redelivered_event_notifies_and_mails_once(client, jobs, smtp, people, database):
    event = envelope(
        "task.assigned",
        people.alice,
        data={"task": task_data(assignee_id=people.bob.id)},
        changes={"assignee_id": [None, people.bob.id]},
    )

    jobs.consume(event)
    jobs.consume(event)
    jobs.send_emails()
    jobs.consume(event)
    with database() as session:
        delivery_id = session.scalar(select(EmailDelivery.id))
    jobs.run("notification.send_email", delivery_id)  # a duplicated job

    assert len(notifications_of(client, people.bob)) == 1
    assert count(database, EmailDelivery) == 1
    assert len(smtp.messages) == 1


def test_status_change_notifies_reporter_and_assignee_but_not_the_actor(client, jobs, people):
    task = task_data(assignee_id=people.bob.id, reporter_id=people.carol.id, status="done")
    event = envelope(
        "task.status_changed",
        people.bob,
        data={"task": task},
        changes={"status": ["in_review", "done"]},
    )

    jobs.consume(event)

    [notification] = notifications_of(client, people.carol)
    assert notification["title"] == "Task 1 is now done"
    assert "from in_review to done" in notification["body"]
    assert notifications_of(client, people.bob) == []


def test_task_fields_directly_in_data_are_understood_too(client, jobs, people):
    event = envelope(
        "task.assigned",
        people.alice,
        data=task_data(assignee_id=people.bob.id, title="Flat"),
        changes={"assignee_id": [None, people.bob.id]},
    )

    jobs.consume(event)

    assert notifications_of(client, people.bob)[0]["title"] == "You were assigned: Flat"


def test_a_comment_by_the_assignee_on_their_own_task_notifies_only_the_reporter(
    client, jobs, people
):
    task = task_data(assignee_id=people.bob.id, reporter_id=people.alice.id)
    comment = {"id": 3, "task_id": 1, "author_id": people.bob.id, "content": "Done, I think."}
    event = envelope(
        "comment.created",
        people.bob,
        data={"comment": comment, "task": task},
        entity=("comment", 3),
    )

    jobs.consume(event)

    assert notifications_of(client, people.bob) == []
    [notification] = notifications_of(client, people.alice)
    assert notification["type"] == "comment.created"
    assert "Done, I think." in notification["body"]


def test_a_mention_notifies_the_mentioned_users_only(client, jobs, smtp, people):
    task = task_data(assignee_id=people.alice.id, reporter_id=people.alice.id)
    comment = {"id": 4, "task_id": 1, "author_id": people.alice.id, "content": "@bob @carol look"}
    event = envelope(
        "comment.mentioned",
        people.alice,
        data={
            "comment": comment,
            "task": task,
            "mentioned_user_ids": [people.bob.id, people.carol.id, people.alice.id],
        },
        entity=("comment", 4),
    )

    jobs.consume(event)
    jobs.send_emails()

    assert [n["type"] for n in notifications_of(client, people.bob)] == ["comment.mentioned"]
    assert len(notifications_of(client, people.carol)) == 1
    assert notifications_of(client, people.alice) == []
    assert sorted(m["X-Envelope-To"] for m in smtp.messages) == sorted(
        [people.bob.email, people.carol.email]
    )


def test_report_ready_notifies_the_requester(client, jobs, people):
    event = envelope(
        "report.completed",
        None,
        data={
            "requester_id": people.carol.id,
            "report": {"id": 9, "type": "project_summary", "format": "csv"},
        },
        entity=("report", 9),
        project_id=None,
    )

    jobs.consume(event)

    [notification] = notifications_of(client, people.carol)
    assert notification["title"] == "Your report is ready"
    assert "project_summary report (csv)" in notification["body"]


def test_password_reset_is_an_email_only_and_its_token_is_not_kept(
    jobs, smtp, people, database, caplog
):
    token = "one-time-reset-token-123456"
    event = envelope(
        "user.password_reset_requested",
        people.alice,
        data={"email": people.alice.email, "reset_token": token, "expires_in": 1800},
        entity=("user", people.alice.id),
        project_id=None,
    )

    jobs.consume(event)
    jobs.send_emails()

    [message] = smtp.messages
    assert message["X-Envelope-To"] == people.alice.email
    assert token in message.get_payload(decode=True).decode()
    assert "within 30 minutes" in message.get_payload(decode=True).decode()
    assert count(database, Notification) == 0
    with database() as session:
        delivery = session.scalar(select(EmailDelivery))
        assert delivery.status == "sent"
        assert token not in delivery.body
    assert token not in caplog.text


def email_changed(account, new_email: str) -> dict:
    return envelope(
        "user.email_changed",
        account,
        data={"old_email": account.email, "new_email": new_email},
        entity=("user", account.id),
        project_id=None,
    )


def test_an_email_change_is_told_to_the_old_address_with_the_new_one_masked(
    jobs, smtp, people, database
):
    jobs.consume(email_changed(people.alice, "mallory@evil.example"))
    jobs.send_emails()

    [message] = smtp.messages
    assert message["X-Envelope-To"] == people.alice.email
    assert message["Subject"] == "The e-mail address of your account was changed"
    body = message.get_payload(decode=True).decode()
    assert "m******@e***.example" in body
    assert "mallory" not in body and "evil" not in body
    assert "If it was not you" in body
    assert count(database, Notification) == 0


def test_the_email_change_notice_cannot_be_turned_off(client, jobs, smtp, people, database):
    refused = client.put(
        "/api/notifications/preferences",
        json={"preferences": {"user.email_changed": {"email": False}}},
        headers=people.bob.headers,
    )
    assert refused.status_code == 422
    # Not even by a template sent to the in-app channel only.
    with database() as session:
        template = session.scalar(
            select(NotificationTemplate).where(NotificationTemplate.name == "user.email_changed")
        )
        template.channel = "in_app"
        session.commit()

    jobs.consume(email_changed(people.bob, "bob-new@example.com"))
    jobs.send_emails()

    assert [m["X-Envelope-To"] for m in smtp.messages] == [people.bob.email]


def test_mask_email_keeps_only_first_letters():
    assert mask_email("alice@example.com") == "a****@e******.com"
    assert mask_email("a@b.co") == "a**@b**.co"
    assert mask_email("x@localhost") == "x**@l********"


def test_an_smtp_refusal_is_retried_and_the_email_still_arrives_once(jobs, smtp, people, database):
    event = envelope(
        "task.assigned",
        people.alice,
        data={"task": task_data(assignee_id=people.bob.id)},
        changes={"assignee_id": [None, people.bob.id]},
    )
    jobs.consume(event)
    smtp.refuse_next(2)

    # Eager runs do not re-run on retry: run the job as each redelivery would.
    for _ in range(3):
        with database() as session:
            delivery_id = session.scalar(select(EmailDelivery.id))
        jobs.celery.tasks["notification.send_email"].apply(args=[delivery_id])

    assert len(smtp.messages) == 1
    with database() as session:
        delivery = session.scalar(select(EmailDelivery))
        assert (delivery.status, delivery.attempts) == ("sent", 3)


def _reply_events(actor, task, participants, mentioned=()):
    """The comment.created and comment.replied a reply by ``actor`` makes, as the comment
    service records them."""
    comment = {"id": 12, "task_id": 1, "author_id": actor.id, "content": "Replying here"}
    data = {
        "comment": comment,
        "task": task,
        "thread": {"parent_id": 11, "participant_ids": sorted(p.id for p in participants)},
    }
    if mentioned:
        data["mentioned_user_ids"] = [person.id for person in mentioned]
    return [
        envelope(kind, actor, data=data, entity=("comment", 12))
        for kind in ("comment.created", "comment.replied")
    ]


def test_a_reply_notifies_the_thread_once_each_never_the_actor(client, jobs, smtp, people):
    # alice wrote the top-level comment and reports the task; carol replied earlier; bob
    # (the assignee, in no thread) replies now.
    task = task_data(assignee_id=people.bob.id, reporter_id=people.alice.id)
    for event in _reply_events(people.bob, task, [people.alice, people.carol, people.bob]):
        jobs.consume(event)
    jobs.send_emails()

    for person in (people.alice, people.carol):
        [notification] = notifications_of(client, person)
        assert notification["type"] == "comment.replied"
        assert notification["title"] == f"{people.bob.username} replied on Task 1"
        assert "Replying here" in notification["body"]
        assert notification["data"]["comment_id"] == 12
    assert notifications_of(client, people.bob) == []
    assert sorted(m["X-Envelope-To"] for m in smtp.messages) == sorted(
        [people.alice.email, people.carol.email]
    )


def test_a_reply_tells_the_assignee_outside_the_thread_of_a_comment_and_a_mention_wins(
    client, jobs, people
):
    task = task_data(assignee_id=people.carol.id, reporter_id=people.alice.id)
    events = _reply_events(people.bob, task, [people.alice], mentioned=[people.alice])
    for event in events:
        jobs.consume(event)

    # carol, the assignee, hears of a comment on her task; alice, mentioned in it (she
    # gets comment.mentioned from its own event), is not told of it twice more.
    assert [n["type"] for n in notifications_of(client, people.carol)] == ["comment.created"]
    assert notifications_of(client, people.alice) == []


def test_a_participant_who_left_the_project_is_not_told_of_a_reply(
    client, jobs, project_task, people
):
    project_task.members[1] = [
        {"user_id": person.id, "role": "member"} for person in (people.alice, people.bob)
    ]
    task = task_data(reporter_id=people.alice.id)
    for event in _reply_events(people.bob, task, [people.alice, people.carol]):
        jobs.consume(event)

    assert [n["type"] for n in notifications_of(client, people.alice)] == ["comment.replied"]
    assert notifications_of(client, people.carol) == []


def test_reactions_notify_nobody(client, jobs, people, database):
    task = task_data(assignee_id=people.alice.id, reporter_id=people.alice.id)
    comment = {"id": 13, "task_id": 1, "author_id": people.alice.id, "content": "Nice"}
    for kind in ("comment.reaction_added", "comment.reaction_removed"):
        jobs.consume(
            envelope(
                kind,
                people.bob,
                data={"comment": comment, "task": task, "reaction": "heart"},
                entity=("comment", 13),
            )
        )

    assert notifications_of(client, people.alice) == []
    assert count(database, EmailDelivery) == 0
    assert count(database, ProcessedEvent) == 2
