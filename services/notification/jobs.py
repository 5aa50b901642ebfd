"""Celery jobs of the notification service, all on the ``notification`` queue.

- ``notification.consume_event``: a domain event → notifications, e-mails, webhook
  deliveries, once per ``event_id``;
- ``notification.send_email``: one e-mail row → SMTP, at most once;
- ``notification.deliver_webhook``: one webhook delivery → a signed POST;

both withheld when their recipient may no longer hear about the project the news is
about (:mod:`services.notification.audience`), asked right before each attempt;
- ``notification.notify_webhook_disabled``: tell an owner their webhook was disabled;
- ``notification.send_due_soon_reminders``: beat, hourly;
- ``notification.send_token_expiry_warnings``: beat, hourly;
- ``notification.redispatch_pending``: hand rows stuck in ``pending`` to the worker again.

Retries follow the common backoff (``services.common.retry``); a job that gives up is
recorded in ``failed_jobs`` (``services.common.celery_app``). An e-mail is given up only
when the SMTP server refuses it for good or after ``EMAIL_GIVE_UP_AFTER_SECONDS``: an
SMTP server away for minutes or hours costs no e-mail (R8, docs/testing.md).
"""

from __future__ import annotations

import hashlib
import json
import logging
import smtplib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import requests
from celery import shared_task
from flask import current_app
from flask_mail import Message
from sqlalchemy import select
from sqlalchemy.exc import InterfaceError, OperationalError

from services.common.consumers import apply_once, consumer_task, parse_envelope
from services.common.db import utcnow
from services.common.errors import ServiceUnavailable
from services.common.retry import backoff, retried_task
from services.notification import directory
from services.notification.audience import may_hear
from services.notification.catalog import TOKEN_EXPIRING
from services.notification.consumer import EnvelopeSchema, Outcome, handle_event
from services.notification.delivery import (
    Notice,
    dispatch_emails,
    dispatch_webhooks,
    notify,
    pending_emails_of,
)
from services.notification.extensions import db, mail
from services.notification.models import EmailDelivery, Webhook, WebhookDelivery
from services.notification.webhooks import transport
from services.notification.webhooks.fanout import pending_deliveries_of
from services.notification.webhooks.guard import RefusedTarget, UnresolvedTarget, check_target
from services.notification.webhooks.signing import signed_headers

log = logging.getLogger(__name__)

TRANSIENT = (requests.RequestException, ServiceUnavailable, OperationalError, InterfaceError)
REDACTED = "(removed once sent: it held a one-time secret)"
WITHHELD = "Not sent: the recipient is no longer a member of the project."
# E-mails and webhook deliveries wait at most this long between two attempts.
DELIVERY_BACKOFF_CAP = 3600.0

_envelope_schema = EnvelopeSchema()


@consumer_task("notification.consume_event", retry_for=TRANSIENT, max_retries=10)
def consume_event(self, envelope: dict[str, Any]) -> None:
    """Turn one domain event into notifications, e-mails and webhook deliveries, once."""
    event = parse_envelope(envelope, _envelope_schema)
    outcome = Outcome()
    if apply_once(event, lambda each: handle_event(each, outcome)):
        emails, webhooks = outcome.emails, outcome.webhooks
    else:
        # Applied before; what it produced may not have reached the broker then.
        emails = pending_emails_of(event["event_id"])
        webhooks = pending_deliveries_of(event["event_id"])
        db.session.rollback()
    dispatch_emails(emails)
    dispatch_webhooks(webhooks)


def _pending(model: type, row_id: int) -> Any:
    """The delivery row, locked, while it is pending; else None, with nothing held."""
    row = db.session.scalar(select(model).where(model.id == row_id).with_for_update())
    if row is None or row.status != "pending":
        db.session.rollback()
        return None
    return row


def _retry_later(task: Any, attempts: int, base_setting: str, exc: Exception | None = None):
    """Commit what this attempt recorded; the job's retry, after the common backoff."""
    db.session.commit()
    base = current_app.config[base_setting]
    return task.retry(exc=exc, countdown=backoff(attempts, base=base, cap=DELIVERY_BACKOFF_CAP))


def _message_of(delivery: EmailDelivery) -> Message:
    message = Message(subject=delivery.subject, recipients=[delivery.recipient])
    message.body = delivery.body
    # The same delivery always carries the same Message-ID, so receivers can drop a repeat.
    digest = hashlib.sha256(delivery.event_id.encode()).hexdigest()[:16]
    message.msgId = f"<{delivery.id}.{digest}@notification.task-platform>"
    return message


def _no_longer_hears(project_id: int | None, user_id: int | None) -> bool:
    """Whether the recipient may no longer hear about the project (the one rule of
    :mod:`services.notification.audience`); ServiceUnavailable when it cannot be told."""
    if project_id is None or user_id is None:
        return False
    return user_id not in may_hear(project_id, [user_id])


def _settle_email(delivery: EmailDelivery, status: str) -> None:
    delivery.status = status
    if delivery.redact_body:
        delivery.body = REDACTED


def _refused(exc: Exception) -> bool:
    """Whether the SMTP server refused this e-mail for good (a 5xx to its recipient or
    content); anything else (no server, a dropped connection, "try later", our own
    login or sender refused) may pass once the server or its settings are back."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
    elif isinstance(exc, smtplib.SMTPDataError):
        codes = [exc.smtp_code]
    else:
        return False
    return bool(codes) and all(code >= 500 for code in codes)


def _gives_up(delivery: EmailDelivery, exc: Exception) -> bool:
    config = current_app.config
    if _refused(exc):
        return delivery.attempts > config["EMAIL_MAX_RETRIES"]
    age = (utcnow() - delivery.created_at).total_seconds()
    return age > config["EMAIL_GIVE_UP_AFTER_SECONDS"]


@shared_task(name="notification.send_email", bind=True, max_retries=None)
def send_email(self, delivery_id: int, attempt: int | None = None) -> None:
    """Send one e-mail at most once; retry SMTP failures with capped backoff and jitter."""
    delivery = _pending(EmailDelivery, delivery_id)
    if delivery is None:
        return
    if attempt is not None and attempt != delivery.attempts:
        # A later job (redispatched, or this retry redelivered) tried it since: one
        # chain of retries per e-mail carries on, however long the SMTP server is away.
        db.session.rollback()
        return
    try:
        withheld = _no_longer_hears(delivery.project_id, delivery.user_id)
    except ServiceUnavailable as exc:
        # Sent only once membership is known: not an attempt, tried again later.
        db.session.commit()
        config = current_app.config
        countdown = backoff(
            delivery.attempts + 1,
            base=config["EMAIL_RETRY_BASE_SECONDS"],
            cap=config["EMAIL_RETRY_MAX_SECONDS"],
        )
        retry = {"args": [delivery_id], "kwargs": {"attempt": delivery.attempts}}
        raise self.retry(exc=exc, countdown=countdown, **retry) from exc
    if withheld:
        delivery.last_error = WITHHELD
        _settle_email(delivery, "withheld")
        db.session.commit()
        return
    delivery.attempts += 1
    try:
        mail.send(_message_of(delivery))
    except (smtplib.SMTPException, OSError) as exc:
        delivery.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        if _gives_up(delivery, exc):
            _settle_email(delivery, "failed")
            db.session.commit()
            raise
        db.session.commit()
        config = current_app.config
        countdown = backoff(
            delivery.attempts,
            base=config["EMAIL_RETRY_BASE_SECONDS"],
            cap=config["EMAIL_RETRY_MAX_SECONDS"],
        )
        retry = {"args": [delivery_id], "kwargs": {"attempt": delivery.attempts}}
        raise self.retry(exc=exc, countdown=countdown, **retry) from exc
    except Exception as exc:
        delivery.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        _settle_email(delivery, "failed")
        db.session.commit()
        raise
    # Marked the moment the SMTP server took it: a repeated job finds it sent.
    _settle_email(delivery, "sent")
    delivery.sent_at = utcnow()
    delivery.last_error = None
    db.session.commit()


@dataclass(frozen=True)
class Attempt:
    response_status: int | None
    error: str | None
    retryable: bool = True

    @property
    def ok(self) -> bool:
        return self.error is None


def _post(webhook: Webhook, delivery: WebhookDelivery) -> Attempt:
    try:
        target = check_target(webhook.url)
    except UnresolvedTarget as exc:
        # DNS may be down for a while: retried like a receiver that cannot be reached.
        return Attempt(None, f"Not sent: {exc}")
    except RefusedTarget as exc:
        return Attempt(None, f"Refused: {exc}", retryable=False)
    body = json.dumps(delivery.payload, separators=(",", ":"), default=str)
    try:
        response = transport.post(
            target,
            body.encode(),
            signed_headers(webhook.secret, delivery.event_id, body),
            timeout=current_app.config["WEBHOOK_TIMEOUT"],
        )
    except requests.RequestException as exc:
        return Attempt(None, f"{type(exc).__name__}: {exc}"[:2000])
    if 200 <= response.status_code < 300:
        return Attempt(response.status_code, None)
    return Attempt(response.status_code, f"The receiver answered {response.status_code}.")


@shared_task(name="notification.deliver_webhook", bind=True, max_retries=None)
def deliver_webhook(self, delivery_id: int) -> None:
    """POST one event to one webhook, signed; retry with backoff; disable after repeated failures."""
    config = current_app.config
    delivery = _pending(WebhookDelivery, delivery_id)
    if delivery is None:
        return
    webhook = delivery.webhook
    if not webhook.is_active:
        delivery.status, delivery.last_error = "failed", "The webhook is disabled."
        db.session.commit()
        return
    try:
        withheld = _no_longer_hears(delivery.payload.get("project_id"), webhook.owner_id)
    except ServiceUnavailable as exc:
        raise _retry_later(self, delivery.attempts + 1, "WEBHOOK_RETRY_BASE_SECONDS", exc) from exc
    if withheld:
        delivery.status, delivery.last_error = "withheld", WITHHELD
        db.session.commit()
        return
    delivery.attempts += 1
    attempt = _post(webhook, delivery)
    delivery.response_status, delivery.last_error = attempt.response_status, attempt.error
    if attempt.ok:
        delivery.status, delivery.delivered_at = "delivered", utcnow()
        webhook.failure_count = 0
        db.session.commit()
        return
    if attempt.retryable and delivery.attempts < config["WEBHOOK_MAX_ATTEMPTS"]:
        raise _retry_later(self, delivery.attempts, "WEBHOOK_RETRY_BASE_SECONDS")
    delivery.status = "failed"
    webhook.failure_count += 1
    disabled = webhook.failure_count >= config["WEBHOOK_MAX_FAILURES"]
    if disabled:
        webhook.is_active, webhook.disabled_at = False, utcnow()
    db.session.commit()
    if disabled:
        log.warning("webhook %s disabled after %s failures", webhook.id, webhook.failure_count)
        current_app.extensions["celery"].send_task(
            "notification.notify_webhook_disabled", args=[webhook.id]
        )


@retried_task("notification.notify_webhook_disabled", retry_for=TRANSIENT, max_retries=10)
def notify_webhook_disabled(self, webhook_id: int) -> None:
    """Tell a webhook's owner (in-app and e-mail) that it was disabled."""
    webhook = db.session.get(Webhook, webhook_id)
    if webhook is None or webhook.disabled_at is None:
        return
    notice = Notice(
        kind="webhook.disabled",
        event_id=f"webhook.disabled:{webhook.id}:{int(webhook.disabled_at.timestamp())}",
        recipients=[webhook.owner_id],
        context={
            "webhook": {
                "id": webhook.id,
                "url": webhook.url,
                "failure_count": webhook.failure_count,
            }
        },
        data={"webhook_id": webhook.id},
    )
    emails = notify([notice]).emails
    db.session.commit()
    dispatch_emails(emails)


@retried_task("notification.send_due_soon_reminders", retry_for=TRANSIENT, max_retries=5)
def send_due_soon_reminders(self) -> None:
    """Remind assignees of tasks due soon: once per task and due date."""
    hours = current_app.config["DUE_SOON_HOURS"]
    notices = [
        Notice(
            kind="task.due_soon",
            event_id=f"due_soon:{item['id']}:{item.get('due_date')}",
            recipients=[item.get("assignee_id")],
            context={"task": item, "hours": hours},
            data={"task_id": item["id"], "project_id": item.get("project_id")},
        )
        for item in directory.tasks_due_soon(hours)
    ]
    emails = notify(notices).emails
    db.session.commit()
    dispatch_emails(emails)


@retried_task("notification.send_token_expiry_warnings", retry_for=TRANSIENT, max_retries=5)
def send_token_expiry_warnings(self) -> None:
    """E-mail owners of personal access tokens expiring soon: once per token and expiry."""
    hours = current_app.config["TOKEN_EXPIRY_WARNING_HOURS"]
    notices = [
        Notice(
            kind=TOKEN_EXPIRING,
            event_id=f"token_expiring:{item['id']}:{item['expires_at'].isoformat()}",
            recipients=[item["user_id"]],
            context={
                "token": {
                    "id": item["id"],
                    "name": item["name"],
                    "prefix": item["prefix"],
                    "expires_at": item["expires_at"].strftime("%Y-%m-%d %H:%M UTC"),
                },
                "hours": hours,
            },
            data={"token_id": item["id"]},
        )
        for item in directory.tokens_expiring(hours)
    ]
    emails = notify(notices).emails
    db.session.commit()
    dispatch_emails(emails)


@shared_task(name="notification.redispatch_pending")
def redispatch_pending() -> None:
    """Hand e-mails and webhook deliveries pending for a while to the worker again."""
    cutoff = utcnow() - timedelta(seconds=current_app.config["REDISPATCH_AFTER_SECONDS"])
    emails = db.session.scalars(
        select(EmailDelivery.id)
        .where(EmailDelivery.status == "pending", EmailDelivery.updated_at < cutoff)
        .order_by(EmailDelivery.id)
        .limit(1000)
    ).all()
    webhooks = db.session.scalars(
        select(WebhookDelivery.id)
        .where(WebhookDelivery.status == "pending", WebhookDelivery.updated_at < cutoff)
        .order_by(WebhookDelivery.id)
        .limit(1000)
    ).all()
    db.session.rollback()
    dispatch_emails(emails)
    dispatch_webhooks(webhooks)
