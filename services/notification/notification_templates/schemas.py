"""Schemas for notification templates."""

import marshmallow as ma
from marshmallow import validate

from services.common.pagination import PageArgsSchema, page_schema
from services.notification.catalog import CHANNELS
from services.notification.rendering import MAX_BODY

NAME = validate.Regexp(
    r"^[a-z0-9][a-z0-9_.-]{0,99}$",
    error="Use 1 to 100 lower-case letters, digits, '.', '_' or '-'.",
)


class TemplateSchema(ma.Schema):
    """A template: sandboxed Jinja2 text (see the variables in the service's docs)."""

    id = ma.fields.Integer()
    name = ma.fields.String(metadata={"description": "A notification type, or your own name"})
    subject = ma.fields.String()
    body = ma.fields.String()
    channel = ma.fields.String(metadata={"enum": list(CHANNELS)})
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


TemplatePageSchema = page_schema(TemplateSchema, "TemplatePageSchema")


class TemplateListArgsSchema(PageArgsSchema):
    pass


class TemplateInSchema(ma.Schema):
    """POST and PUT: every field (channel defaults to both)."""

    name = ma.fields.String(required=True, validate=NAME)
    subject = ma.fields.String(required=True, validate=validate.Length(min=1, max=255))
    body = ma.fields.String(required=True, validate=validate.Length(min=1, max=MAX_BODY))
    channel = ma.fields.String(load_default="both", validate=validate.OneOf(CHANNELS))
