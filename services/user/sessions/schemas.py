"""Schemas for login sessions as their owner sees them."""

import marshmallow as ma

from services.common.pagination import PageArgsSchema, page_schema


class SessionSchema(ma.Schema):
    id = ma.fields.String()
    user_agent = ma.fields.String(allow_none=True)
    ip_address = ma.fields.String(
        allow_none=True, metadata={"description": "The client's address as the gateway saw it."}
    )
    signed_in_with = ma.fields.String(metadata={"description": '"password" or "oidc:<provider>".'})
    created_at = ma.fields.DateTime()
    last_used_at = ma.fields.DateTime(
        allow_none=True, metadata={"description": "To within LAST_USED_RESOLUTION_SECONDS."}
    )
    current = ma.fields.Boolean(metadata={"description": "The session of this request."})


SessionArgsSchema = PageArgsSchema
SessionPageSchema = page_schema(SessionSchema, "SessionPageSchema")
