"""E-mail delivery over SMTP (docs/services.md; R8 in docs/testing.md): an SMTP server away, dropping the
connection or saying "try later" costs no e-mail however long it lasts; an e-mail it
refuses for good ends failed and recorded; one taken by the server is never sent again;
one chain of retries per e-mail."""

from __future__ import annotations

import contextlib
import smtplib
from datetime import timedelta

from sqlalchemy import func, select

from services.notification.models import EmailDelivery, FailedJob
from tests.notification.conftest import envelope, task_data


def _one_email(jobs, people, database) -> int:
    jobs.consume(
        envelope(
            "task.assigned",
            people.alice,
            data={"task": task_data(assignee_id=people.bob.id)},
            changes={"assignee_id": [None, people.bob.id]},
        )
    )
    with database() as session:
        return session.scalar(select(EmailDelivery.id))


def _send(jobs, delivery_id: int, **kwargs) -> None:
    """One try, as one (re)delivery of the job makes it (called directly, the job raises
    its SMTP error instead of scheduling the retry, which an eager run would make now)."""
    with contextlib.suppress(smtplib.SMTPException, OSError):
        jobs.celery.tasks["notification.send_email"](delivery_id, **kwargs)


def test_an_email_the_server_refuses_for_good_is_marked_failed_and_recorded(
    app, jobs, smtp, people, database
):
    delivery_id = _one_email(jobs, people, database)
    smtp.refuse_next(100, "550 No such mailbox")
    # An eager run makes the retries at once, and the failure handler records the job.
    jobs.celery.tasks["notification.send_email"].apply(args=[delivery_id])

    with database() as session:
        delivery = session.get(EmailDelivery, delivery_id)
        assert delivery.status == "failed"
        assert "550" in delivery.last_error
        assert session.scalar(select(FailedJob.task_name)) == "notification.send_email"
    assert smtp.messages == []


def test_an_smtp_server_away_costs_no_email_however_many_tries_fail(
    app, jobs, smtp, people, database
):
    """R8 (docs/testing.md): "try later" answers (and a server not there at all) never use up a
    retry budget; the e-mail goes out once when the server takes it."""
    delivery_id = _one_email(jobs, people, database)
    tries = app.config["EMAIL_MAX_RETRIES"] * 3
    smtp.refuse_next(tries)
    for _ in range(tries):
        _send(jobs, delivery_id)

    with database() as session:
        delivery = session.get(EmailDelivery, delivery_id)
        assert (delivery.status, delivery.attempts) == ("pending", tries)
        assert "451" in delivery.last_error
        assert session.scalar(select(func.count()).select_from(FailedJob)) == 0
    _send(jobs, delivery_id)
    _send(jobs, delivery_id)
    assert len(smtp.messages) == 1
    with database() as session:
        assert session.get(EmailDelivery, delivery_id).status == "sent"


def test_an_email_the_server_never_takes_is_given_up_after_the_give_up_time(
    app, jobs, smtp, people, database
):
    delivery_id = _one_email(jobs, people, database)
    with database() as session:
        delivery = session.get(EmailDelivery, delivery_id)
        delivery.created_at -= timedelta(seconds=app.config["EMAIL_GIVE_UP_AFTER_SECONDS"] + 1)
        session.commit()
    smtp.refuse_next(1)
    jobs.celery.tasks["notification.send_email"].apply(args=[delivery_id])

    with database() as session:
        assert session.get(EmailDelivery, delivery_id).status == "failed"
        assert session.scalar(select(FailedJob.task_name)) == "notification.send_email"


def test_a_connection_dropped_after_the_server_took_the_email_does_not_send_it_again(
    jobs, smtp, people, database
):
    delivery_id = _one_email(jobs, people, database)
    smtp.inbox.drop_after_accept = 1
    _send(jobs, delivery_id)
    _send(jobs, delivery_id)

    assert len(smtp.messages) == 1
    with database() as session:
        delivery = session.get(EmailDelivery, delivery_id)
        assert (delivery.status, delivery.attempts, delivery.last_error) == ("sent", 1, None)


def test_a_retry_overtaken_by_a_later_try_of_the_same_email_stands_down(
    jobs, smtp, people, database
):
    """One chain of retries per e-mail: a redispatch or a redelivered retry makes the
    older chain stop instead of both going on trying."""
    delivery_id = _one_email(jobs, people, database)
    smtp.refuse_next(100)
    _send(jobs, delivery_id)
    _send(jobs, delivery_id)  # a redispatch: 2 attempts now
    _send(jobs, delivery_id, attempt=1)  # the first chain's retry, scheduled after attempt 1

    with database() as session:
        assert session.get(EmailDelivery, delivery_id).attempts == 2
    _send(jobs, delivery_id, attempt=2)
    with database() as session:
        assert session.get(EmailDelivery, delivery_id).attempts == 3
