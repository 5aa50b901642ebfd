"""Schemas for webhooks and their deliveries."""

import marshmallow as ma
from marshmallow import validate

from services.common.pagination import PageArgsSchema, page_schema
from services.notification.models import WEBHOOK_DELIVERY_STATUSES
from services.notification.webhooks.fanout import WEBHOOK_EVENT_TYPES

URL = validate.And(
    validate.Length(max=2048),
    validate.URL(schemes={"http", "https"}, require_tld=False, error="Give an http(s) URL."),
)


def event_types_field(**kwargs) -> ma.fields.List:
    """The event types a webhook subscribes to: at least one."""
    return ma.fields.List(
        ma.fields.String(validate=validate.OneOf(WEBHOOK_EVENT_TYPES)),
        validate=validate.Length(min=1, max=50),
        **kwargs,
    )


class WebhookSchema(ma.Schema):
    """A webhook (its secret is shown only when it is created)."""

    id = ma.fields.Integer()
    owner_id = ma.fields.Integer()
    url = ma.fields.String()
    description = ma.fields.String(allow_none=True)
    event_types = ma.fields.List(ma.fields.String(metadata={"enum": list(WEBHOOK_EVENT_TYPES)}))
    is_active = ma.fields.Boolean()
    failure_count = ma.fields.Integer(metadata={"description": "Failed deliveries in a row"})
    disabled_at = ma.fields.DateTime(allow_none=True)
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class WebhookCreatedSchema(WebhookSchema):
    """A new webhook, with its signing secret: store it now, it is not shown again."""

    secret = ma.fields.String(metadata={"description": "whsec_ + base64 key (Standard Webhooks)"})


WebhookPageSchema = page_schema(WebhookSchema, "WebhookPageSchema")


class WebhookListArgsSchema(PageArgsSchema):
    all = ma.fields.Boolean(load_default=False, metadata={"description": "Everyone's (admins)"})


class WebhookCreateSchema(ma.Schema):
    url = ma.fields.String(required=True, validate=URL)
    event_types = event_types_field(required=True)
    description = ma.fields.String(allow_none=True, validate=validate.Length(max=200))

    @ma.post_load
    def _unique_types(self, data, **kwargs):
        data["event_types"] = list(dict.fromkeys(data["event_types"]))
        return data


class WebhookUpdateSchema(ma.Schema):
    """Any of the editable fields; enabling a disabled webhook clears its failures."""

    url = ma.fields.String(validate=URL)
    event_types = event_types_field()
    description = ma.fields.String(allow_none=True, validate=validate.Length(max=200))
    is_active = ma.fields.Boolean()

    @ma.validates_schema
    def _not_empty(self, data, **kwargs):
        if not data:
            raise ma.ValidationError("Give at least one field to change.")

    @ma.post_load
    def _unique_types(self, data, **kwargs):
        if "event_types" in data:
            data["event_types"] = list(dict.fromkeys(data["event_types"]))
        return data


class DeliverySchema(ma.Schema):
    """One event sent to a webhook, with the outcome of its last attempt."""

    id = ma.fields.Integer()
    webhook_id = ma.fields.Integer()
    event_id = ma.fields.String()
    event_type = ma.fields.String()
    status = ma.fields.String(metadata={"enum": list(WEBHOOK_DELIVERY_STATUSES)})
    attempts = ma.fields.Integer()
    response_status = ma.fields.Integer(allow_none=True)
    last_error = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()
    delivered_at = ma.fields.DateTime(allow_none=True)


DeliveryPageSchema = page_schema(DeliverySchema, "DeliveryPageSchema")
