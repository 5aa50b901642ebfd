"""Which webhooks receive an event, and the delivery rows that say so.

A webhook receives an event when it is active, subscribes to the event's type, and its
owner is an active user who may hear about the event's project
(:func:`services.notification.audience.may_hear`: its members and global admins); events
without a project go to admins only. The delivery job asks again right before each
attempt. Password-reset events never go to webhooks.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from services.common.registry import SERVICES
from services.notification import directory
from services.notification.audience import may_hear
from services.notification.extensions import db
from services.notification.models import Webhook, WebhookDelivery

TEST_EVENT = "webhook.test"

# What this service is sent (services.common.registry), less the account events.
WEBHOOK_EVENT_TYPES: tuple[str, ...] = tuple(
    t for t in SERVICES["notification"].consumes if not t.startswith("user.")
)


def fan_out(envelope: dict[str, Any]) -> list[int]:
    """Add a delivery of the event for every webhook entitled to it; return their ids."""
    event_type = envelope["type"]
    if event_type not in WEBHOOK_EVENT_TYPES:
        return []
    hooks = [
        hook
        for hook in db.session.scalars(select(Webhook).where(Webhook.is_active.is_(True)))
        if event_type in hook.event_types
    ]
    if not hooks:
        return []
    owners = directory.contacts({hook.owner_id for hook in hooks})
    project_id = envelope.get("project_id")
    active = {user_id for user_id, owner in owners.items() if owner.is_active}
    if project_id is None:
        entitled = {user_id for user_id in active if owners[user_id].role == "admin"}
    else:
        entitled = may_hear(project_id, active, owners)
    done = set(
        db.session.scalars(
            select(WebhookDelivery.webhook_id).where(
                WebhookDelivery.event_id == envelope["event_id"],
                WebhookDelivery.webhook_id.in_([hook.id for hook in hooks]),
            )
        )
    )
    deliveries = []
    for hook in hooks:
        if hook.owner_id in entitled and hook.id not in done:
            deliveries.append(delivery_of(hook, envelope))
    db.session.add_all(deliveries)
    db.session.flush()
    return [delivery.id for delivery in deliveries]


def delivery_of(hook: Webhook, envelope: dict[str, Any]) -> WebhookDelivery:
    """A pending delivery of an envelope to a webhook."""
    return WebhookDelivery(
        webhook_id=hook.id,
        event_id=envelope["event_id"],
        event_type=envelope["type"],
        payload=envelope,
    )


def pending_deliveries_of(event_id: str) -> list[int]:
    """Ids of an event's webhook deliveries still waiting to go out."""
    return list(
        db.session.scalars(
            select(WebhookDelivery.id).where(
                WebhookDelivery.event_id == event_id, WebhookDelivery.status == "pending"
            )
        )
    )
