"""Webhooks: register, list, change, delete, see deliveries, send a test (docs/services.md).

You see and manage your own webhooks; admins see everyone's (``?all=true`` to list
them). Someone else's webhook is a 404, so its existence does not leak.
"""

from __future__ import annotations

from typing import NoReturn

from flask import current_app, url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import delete, select

from services.common.auth import current_principal, require_auth
from services.common.caps import add_within_cap, cap_reached
from services.common.concurrency import check_if_match, etag_of
from services.common.errors import abort
from services.common.events import build_envelope
from services.common.idempotency import idempotent
from services.common.pagination import PageArgsSchema, paginate, with_link
from services.notification.delivery import dispatch_webhooks
from services.notification.extensions import db
from services.notification.models import Webhook, WebhookDelivery
from services.notification.webhooks.fanout import TEST_EVENT, delivery_of
from services.notification.webhooks.guard import RefusedTarget, check_target
from services.notification.webhooks.schemas import (
    DeliveryPageSchema,
    DeliverySchema,
    WebhookCreatedSchema,
    WebhookCreateSchema,
    WebhookListArgsSchema,
    WebhookPageSchema,
    WebhookSchema,
    WebhookUpdateSchema,
)
from services.notification.webhooks.signing import new_secret

blp = Blueprint("webhooks", __name__, url_prefix="/api/webhooks", description="Webhooks")

_schema = WebhookSchema()


def _with_etag(webhook: Webhook, status: int = 200, **headers: str):
    return webhook, status, {"ETag": etag_of(_schema.dump(webhook)), **headers}


def _load(webhook_id: int) -> Webhook:
    webhook = db.session.get(Webhook, webhook_id)
    principal = current_principal()
    if webhook is None or (webhook.owner_id != principal.id and not principal.is_admin):
        abort(404, "No such webhook.")
    return webhook


def _refuse_too_many(limit: int) -> NoReturn:
    abort(409, f"You have {limit} webhooks; delete one to add another.", code="too_many_webhooks")


def _check_url(url: str) -> None:
    try:
        check_target(url)
    except RefusedTarget as exc:
        abort(422, str(exc), errors={"url": [str(exc)]})


@blp.route("")
class Webhooks(MethodView):
    decorators = [require_auth(scope="webhooks")]

    @blp.arguments(WebhookListArgsSchema, location="query")
    @blp.response(200, WebhookPageSchema)
    def get(self, args):
        """Your webhooks (admins: everyone's with all=true)."""
        principal = current_principal()
        if args["all"] and not principal.is_admin:
            abort(403, "Only admins can list every webhook.", code="forbidden")
        query = select(Webhook).order_by(Webhook.id)
        if not args["all"]:
            query = query.where(Webhook.owner_id == principal.id)
        page = paginate(db.session, query, args["page"], args["per_page"])
        return with_link(page)

    @idempotent
    @blp.arguments(WebhookCreateSchema)
    @blp.response(201, WebhookCreatedSchema)
    @blp.alt_response(409, response="CONFLICT")
    def post(self, data):
        """Register a webhook; the answer holds its signing secret, shown this once (at
        most WEBHOOKS_MAX_PER_USER each: beyond, 409 ``too_many_webhooks``)."""
        owner_id = current_principal().id
        cap = {
            "owner": Webhook.owner_id,
            "slot": Webhook.cap_slot,
            "limit": current_app.config["WEBHOOKS_MAX_PER_USER"],
        }
        if cap_reached(db.session, owner_id=owner_id, **cap):
            _refuse_too_many(cap["limit"])
        _check_url(data["url"])
        webhook = Webhook(owner_id=owner_id, secret=new_secret(), **data)
        if not add_within_cap(db.session, webhook, **cap):
            _refuse_too_many(cap["limit"])
        location = url_for("webhooks.WebhookById", webhook_id=webhook.id)
        return _with_etag(webhook, 201, Location=location)


@blp.route("/<int:webhook_id>")
class WebhookById(MethodView):
    decorators = [require_auth(scope="webhooks")]

    @blp.response(200, WebhookSchema)
    def get(self, webhook_id: int):
        """One webhook."""
        return _with_etag(_load(webhook_id))

    @blp.arguments(WebhookUpdateSchema)
    @blp.response(200, WebhookSchema)
    def patch(self, data, webhook_id: int):
        """Change a webhook; enabling it again clears its failure count."""
        webhook = _load(webhook_id)
        check_if_match(_schema.dump(webhook))
        if "url" in data:
            _check_url(data["url"])
        if data.get("is_active") and not webhook.is_active:
            webhook.failure_count, webhook.disabled_at = 0, None
        for field, value in data.items():
            setattr(webhook, field, value)
        db.session.commit()
        return _with_etag(webhook)

    @blp.response(204)
    def delete(self, webhook_id: int):
        """Delete a webhook and its delivery log."""
        webhook = _load(webhook_id)
        check_if_match(_schema.dump(webhook))
        db.session.execute(delete(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook.id))
        db.session.delete(webhook)
        db.session.commit()


@blp.route("/<int:webhook_id>/deliveries")
class WebhookDeliveries(MethodView):
    decorators = [require_auth(scope="webhooks")]

    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, DeliveryPageSchema)
    def get(self, args, webhook_id: int):
        """A webhook's deliveries, newest first."""
        webhook = _load(webhook_id)
        query = (
            select(WebhookDelivery)
            .where(WebhookDelivery.webhook_id == webhook.id)
            .order_by(WebhookDelivery.id.desc())
        )
        page = paginate(db.session, query, args["page"], args["per_page"])
        return with_link(page)


@blp.route("/<int:webhook_id>/test")
class WebhookTest(MethodView):
    decorators = [require_auth(scope="webhooks")]

    @blp.response(202, DeliverySchema)
    def post(self, webhook_id: int):
        """Send the webhook a signed ``webhook.test`` event now."""
        webhook = _load(webhook_id)
        if not webhook.is_active:
            abort(409, "The webhook is disabled; enable it first.", code="conflict")
        envelope = build_envelope(
            TEST_EVENT,
            actor=current_principal().as_actor(),
            entity=("webhook", webhook.id),
            data={"message": "This is a test delivery."},
        )
        delivery = delivery_of(webhook, envelope)
        db.session.add(delivery)
        db.session.commit()
        dispatch_webhooks([delivery.id])
        return delivery
