"""From "tell these users about this" to rows: in-app notifications and pending e-mails.

:func:`notify` adds both to the session of the caller's transaction (the consumer's, with
its processed-event marker; an admin send's; the reminder job's), so an e-mail exists
exactly when its notification does. E-mails go out only from the worker: after the
commit, :func:`dispatch_emails` hands their ids to ``notification.send_email``. If that
hand-over fails (broker down), ``notification.redispatch_pending`` sends them later.

Everything a batch needs is fetched once per batch: preferences in one query, templates
in one, existing rows in one each, contact details in one call to the user service, and
each project's members in one call to project-task. Nobody hears about a project they
can no longer see (:mod:`services.notification.audience`): no notification or e-mail is
made for them, and an e-mail's project goes with it, checked again when it is sent.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy import select

from services.notification import directory
from services.notification.audience import may_hear
from services.notification.catalog import DEFAULT_TEMPLATES
from services.notification.extensions import db
from services.notification.models import EmailDelivery, Notification, NotificationTemplate
from services.notification.preferences import preferences_of
from services.notification.rendering import TemplateText, render

SEND_EMAIL = "notification.send_email"
DELIVER_WEBHOOK = "notification.deliver_webhook"

log = logging.getLogger(__name__)


@dataclass
class Notice:
    """Something to tell some users: one notification type, one key that makes it once."""

    kind: str
    event_id: str
    recipients: Sequence[int | None]
    context: dict[str, Any]
    data: dict[str, Any] = field(default_factory=dict)
    actor_id: int | None = None
    template: TemplateText | None = None

    @property
    def project_id(self) -> int | None:
        """The project this is news about, if any."""
        return self.data.get("project_id")

    def audience(self) -> list[int]:
        """Recipients once each, never the actor."""
        return [
            user_id
            for user_id in dict.fromkeys(self.recipients)
            if isinstance(user_id, int) and user_id != self.actor_id
        ]


def templates_named(names: Iterable[str]) -> dict[str, TemplateText]:
    """Stored templates by name, the built-in default standing in for a missing one."""
    wanted = set(names)
    found = {
        t.name: TemplateText(t.name, t.subject, t.body, t.channel)
        for t in db.session.scalars(
            select(NotificationTemplate).where(NotificationTemplate.name.in_(wanted))
        )
    }
    for name in wanted - found.keys():
        default = DEFAULT_TEMPLATES.get(name)
        if default is not None:
            found[name] = TemplateText(name, default.subject, default.body, default.channel)
    return found


@dataclass
class Notified:
    """What :func:`notify` added: how many notifications, and the new e-mails' ids."""

    notifications: int = 0
    emails: list[int] = field(default_factory=list)


def notify(notices: Sequence[Notice]) -> Notified:
    """Add the notices' notifications and e-mails to the session (flushed, not committed);
    pass ``.emails`` to :func:`dispatch_emails` after the commit."""
    audiences = {id(notice): notice.audience() for notice in notices}
    user_ids = {user_id for audience in audiences.values() for user_id in audience}
    result = Notified()
    if not user_ids:
        return result
    templates = templates_named(n.kind for n in notices if n.template is None)
    preferences = preferences_of(user_ids)
    people = directory.contacts(user_ids)
    hearing = {
        project_id: may_hear(project_id, user_ids, people)
        for project_id in {notice.project_id for notice in notices}
    }
    event_ids = {notice.event_id for notice in notices}
    notified = {
        (row.user_id, row.event_id)
        for row in db.session.execute(
            select(Notification.user_id, Notification.event_id).where(
                Notification.event_id.in_(event_ids), Notification.user_id.in_(user_ids)
            )
        )
    }
    emailed = _existing_emails(event_ids)
    app_url = current_app.config["APP_URL"]
    deliveries: list[EmailDelivery] = []
    for notice in notices:
        template = notice.template or templates.get(notice.kind)
        if template is None:
            log.warning("no template for notification type %s", notice.kind)
            continue
        for user_id in audiences[id(notice)]:
            person = people.get(user_id)
            if person is None or user_id not in hearing[notice.project_id]:
                continue  # no such user (any more), or no longer in the project
            wants = preferences[user_id].get(notice.kind, {"in_app": True, "email": True})
            in_app = template.channel != "email" and wants["in_app"]
            in_app = in_app and (user_id, notice.event_id) not in notified
            email = template.channel != "in_app" and wants["email"] and person.is_active
            email = email and (notice.event_id, person.email, template.name) not in emailed
            if not (in_app or email):
                continue
            context = {**notice.context, "recipient": person.as_context(), "app_url": app_url}
            rendered = render(template, context)
            if in_app:
                db.session.add(
                    Notification(
                        user_id=user_id,
                        type=notice.kind,
                        title=rendered.subject,
                        body=rendered.body,
                        data=notice.data,
                        event_id=notice.event_id,
                    )
                )
                notified.add((user_id, notice.event_id))
                result.notifications += 1
            if email:
                delivery = EmailDelivery(
                    user_id=user_id,
                    recipient=person.email,
                    template=template.name,
                    subject=rendered.subject,
                    body=rendered.body,
                    event_id=notice.event_id,
                    project_id=notice.project_id,
                )
                db.session.add(delivery)
                deliveries.append(delivery)
                emailed.add((notice.event_id, person.email, template.name))
    db.session.flush()
    result.emails = [delivery.id for delivery in deliveries]
    return result


def queue_email(
    address: str,
    kind: str,
    context: dict[str, Any],
    event_id: str,
    *,
    user_id: int | None = None,
    redact_body: bool = False,
) -> list[int]:
    """Add one e-mail to an address (no in-app notification); return its id, or nothing
    if this event already has it."""
    template = templates_named([kind])[kind]
    if (event_id, address, template.name) in _existing_emails({event_id}):
        return []
    rendered = render(template, {**context, "app_url": current_app.config["APP_URL"]})
    delivery = EmailDelivery(
        user_id=user_id,
        recipient=address,
        template=template.name,
        subject=rendered.subject,
        body=rendered.body,
        event_id=event_id,
        redact_body=redact_body,
    )
    db.session.add(delivery)
    db.session.flush()
    return [delivery.id]


def _existing_emails(event_ids: set[str]) -> set[tuple[str, str, str]]:
    rows = db.session.execute(
        select(EmailDelivery.event_id, EmailDelivery.recipient, EmailDelivery.template).where(
            EmailDelivery.event_id.in_(event_ids)
        )
    )
    return {(row.event_id, row.recipient, row.template) for row in rows}


def pending_emails_of(event_id: str) -> list[int]:
    """Ids of an event's e-mails still waiting to be sent."""
    return list(
        db.session.scalars(
            select(EmailDelivery.id).where(
                EmailDelivery.event_id == event_id, EmailDelivery.status == "pending"
            )
        )
    )


def dispatch_emails(ids: Iterable[int]) -> None:
    """Hand committed e-mails to the worker."""
    _dispatch(SEND_EMAIL, ids)


def dispatch_webhooks(ids: Iterable[int]) -> None:
    """Hand committed webhook deliveries to the worker."""
    _dispatch(DELIVER_WEBHOOK, ids)


def _dispatch(task_name: str, ids: Iterable[int]) -> None:
    celery = current_app.extensions["celery"]
    for row_id in ids:
        try:
            celery.send_task(task_name, args=[row_id])
        except Exception as exc:
            # The rows stay pending; notification.redispatch_pending sends them later.
            log.warning("could not hand %s(%s) to the broker: %s", task_name, row_id, exc)
            return
