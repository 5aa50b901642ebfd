"""Schemas for sign-in with an OpenID Connect provider."""

import marshmallow as ma
from marshmallow import validate


class ProviderSchema(ma.Schema):
    name = ma.fields.String()
    login_url = ma.fields.String(metadata={"description": "Open it in a browser to sign in."})


class ProviderListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ProviderSchema))


class CallbackArgsSchema(ma.Schema):
    """What the provider sends the browser back with (other parameters are ignored)."""

    code = ma.fields.String(validate=validate.Length(min=1, max=2048))
    state = ma.fields.String(validate=validate.Length(min=1, max=256))
    error = ma.fields.String(validate=validate.Length(min=1, max=256))
    error_description = ma.fields.String(validate=validate.Length(max=1024))
