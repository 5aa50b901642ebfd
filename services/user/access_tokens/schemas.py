"""Schemas for personal access tokens."""

import marshmallow as ma
from marshmallow import validate

from services.common.pagination import PageArgsSchema, page_schema
from services.common.scopes import GRANTABLE


class TokenCreateSchema(ma.Schema):
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=100))
    scopes = ma.fields.List(
        ma.fields.String(validate=validate.OneOf(sorted(GRANTABLE))),
        required=True,
        validate=validate.Length(min=1, max=len(GRANTABLE)),
        metadata={"description": "What the token may do (docs/auth.md lists the scopes)."},
    )
    expires_at = ma.fields.AwareDateTime(
        metadata={
            "description": "When it stops working: in the future and at most PAT_MAX_DAYS "
            "(365) days ahead; PAT_DEFAULT_DAYS (90) from now when left out."
        }
    )
    current_password = ma.fields.String(
        required=True,
        load_only=True,
        validate=validate.Length(max=128),
        metadata={"description": "Your password; each wrong one counts towards the lockout."},
    )


class TokenSchema(ma.Schema):
    """A token as its owner (and admins) see it: never the token itself."""

    id = ma.fields.Integer()
    user_id = ma.fields.Integer()
    name = ma.fields.String()
    prefix = ma.fields.String(metadata={"description": "The token's first characters."})
    scopes = ma.fields.List(ma.fields.String())
    expires_at = ma.fields.DateTime()
    last_used_at = ma.fields.DateTime(
        allow_none=True, metadata={"description": "To within LAST_USED_RESOLUTION_SECONDS."}
    )
    created_at = ma.fields.DateTime()


class NewTokenSchema(TokenSchema):
    token = ma.fields.String(metadata={"description": "The token: shown this once only."})


TokenArgsSchema = PageArgsSchema
TokenPageSchema = page_schema(TokenSchema, "TokenPageSchema")
