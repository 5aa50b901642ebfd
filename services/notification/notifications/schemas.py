"""Schemas for notifications, preferences and admin sends."""

import marshmallow as ma
from marshmallow import validate

from services.common.pagination import PageArgsSchema, page_schema
from services.notification.catalog import LOCKED_PREFERENCES, NOTIFICATION_TYPES
from services.notification.rendering import MAX_BODY


class NotificationSchema(ma.Schema):
    """One in-app notification."""

    id = ma.fields.Integer()
    user_id = ma.fields.Integer()
    type = ma.fields.String(metadata={"enum": list(NOTIFICATION_TYPES)})
    title = ma.fields.String()
    body = ma.fields.String()
    data = ma.fields.Dict(metadata={"description": "References: project_id, task_id, ..."})
    read = ma.fields.Function(
        lambda n: n.read_at is not None, dump_only=True, metadata={"type": "boolean"}
    )
    read_at = ma.fields.DateTime(allow_none=True)
    created_at = ma.fields.DateTime()


NotificationPageSchema = page_schema(NotificationSchema, "NotificationPageSchema")


class NotificationListArgsSchema(PageArgsSchema):
    unread = ma.fields.Boolean(load_default=False, metadata={"description": "Only unread ones"})


class UnreadCountSchema(ma.Schema):
    count = ma.fields.Integer(required=True)


class ReadAllResultSchema(ma.Schema):
    updated = ma.fields.Integer(required=True, metadata={"description": "How many were unread"})


class ChannelsSchema(ma.Schema):
    """Whether one notification type reaches you in the app and by e-mail."""

    in_app = ma.fields.Boolean(required=True)
    email = ma.fields.Boolean(required=True)


class ChannelsUpdateSchema(ma.Schema):
    in_app = ma.fields.Boolean()
    email = ma.fields.Boolean()

    @ma.validates_schema
    def _not_empty(self, data, **kwargs):
        if not data:
            raise ma.ValidationError("Give in_app and/or email.")


class PreferencesSchema(ma.Schema):
    """Every notification type with its channels."""

    preferences = ma.fields.Dict(
        keys=ma.fields.String(), values=ma.fields.Nested(ChannelsSchema), required=True
    )


class PreferencesUpdateSchema(ma.Schema):
    """The types to change; the others keep their setting."""

    preferences = ma.fields.Dict(
        keys=ma.fields.String(validate=validate.OneOf(NOTIFICATION_TYPES)),
        values=ma.fields.Nested(ChannelsUpdateSchema),
        required=True,
    )

    @ma.validates("preferences")
    def _locked_stay(self, value, **kwargs):
        for kind, channels in value.items():
            locked = LOCKED_PREFERENCES.get(kind)
            if locked and any(channels.get(c, v) != v for c, v in locked.items()):
                raise ma.ValidationError(f"{kind} cannot be changed: it is always e-mailed.")


class SendSchema(ma.Schema):
    """An admin message: by a stored template, or by a subject and body given here
    (both are sandboxed Jinja2 templates with ``context`` and ``recipient``)."""

    user_ids = ma.fields.List(
        ma.fields.Integer(strict=True, validate=validate.Range(min=1)),
        required=True,
        validate=validate.Length(min=1, max=500),
    )
    template = ma.fields.String(validate=validate.Length(min=1, max=100))
    context = ma.fields.Dict(keys=ma.fields.String(), load_default=dict)
    subject = ma.fields.String(validate=validate.Length(min=1, max=255))
    body = ma.fields.String(validate=validate.Length(min=1, max=MAX_BODY))

    @ma.validates_schema
    def _template_or_text(self, data, **kwargs):
        if "template" in data and ("subject" in data or "body" in data):
            raise ma.ValidationError("Give a template or a subject and body, not both.")
        if "template" not in data and not ("subject" in data and "body" in data):
            raise ma.ValidationError("Give a template, or a subject and a body.")


class SendResultSchema(ma.Schema):
    event_id = ma.fields.String(metadata={"description": "The key of this send"})
    notifications = ma.fields.Integer(metadata={"description": "In-app notifications made"})
    emails = ma.fields.Integer(metadata={"description": "E-mails queued"})
