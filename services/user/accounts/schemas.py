"""Schemas for registration, login, tokens and password reset."""

import marshmallow as ma
from marshmallow import validate

from services.user.users.schemas import PASSWORD, USERNAME, UserSchema


class RegisterSchema(ma.Schema):
    username = ma.fields.String(required=True, validate=USERNAME)
    email = ma.fields.Email(required=True, validate=validate.Length(max=254))
    password = ma.fields.String(required=True, load_only=True, validate=PASSWORD)
    full_name = ma.fields.String(allow_none=True, validate=validate.Length(max=120))


class LoginSchema(ma.Schema):
    username = ma.fields.String(validate=validate.Length(min=1, max=254))
    email = ma.fields.String(validate=validate.Length(min=1, max=254))
    password = ma.fields.String(required=True, load_only=True, validate=validate.Length(max=128))

    @ma.validates_schema
    def _one_identifier(self, data, **kwargs):
        if ("username" in data) == ("email" in data):
            raise ma.ValidationError("Give either username or email.", "username")


class LoginOtpSchema(ma.Schema):
    otp_token = ma.fields.String(required=True, validate=validate.Length(min=1, max=128))
    code = ma.fields.String(
        required=True,
        load_only=True,
        validate=validate.Length(min=1, max=32),
        metadata={"description": "A 6-digit TOTP code, or a recovery code (xxxx-xxxx-xxxx)."},
    )


class TokenPairSchema(ma.Schema):
    access_token = ma.fields.String()
    refresh_token = ma.fields.String()
    token_type = ma.fields.String()
    expires_in = ma.fields.Integer()
    user = ma.fields.Nested(UserSchema)


class ForgotPasswordSchema(ma.Schema):
    email = ma.fields.Email(required=True, validate=validate.Length(max=254))


class ResetPasswordSchema(ma.Schema):
    token = ma.fields.String(required=True, validate=validate.Length(min=1, max=256))
    new_password = ma.fields.String(required=True, load_only=True, validate=PASSWORD)


class MessageSchema(ma.Schema):
    message = ma.fields.String()
