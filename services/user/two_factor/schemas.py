"""Schemas for two-factor enrolment, confirmation and disabling."""

import marshmallow as ma
from marshmallow import validate

PASSWORD_FIELD = ma.fields.String(
    required=True,
    load_only=True,
    validate=validate.Length(max=128),
    metadata={"description": "Your password; each wrong one counts towards the lockout."},
)
CODE_FIELD = ma.fields.String(
    required=True,
    load_only=True,
    validate=validate.Length(min=1, max=32),
    metadata={"description": "A 6-digit code of your authenticator app."},
)


class TwoFactorStatusSchema(ma.Schema):
    enabled = ma.fields.Boolean()
    enabled_at = ma.fields.DateTime(allow_none=True)
    pending = ma.fields.Boolean(
        metadata={"description": "Enrolment started and not yet confirmed by a code."}
    )
    recovery_codes_left = ma.fields.Integer()
    required = ma.fields.Boolean(
        metadata={
            "description": "Whether this account must have two-factor (an admin while "
            "REQUIRE_2FA_FOR_ADMINS is on)."
        }
    )


class EnrolSchema(ma.Schema):
    current_password = PASSWORD_FIELD


class EnrolmentSchema(ma.Schema):
    secret = ma.fields.String(metadata={"description": "The TOTP secret (base32)."})
    otpauth_uri = ma.fields.String(metadata={"description": "otpauth:// URI for the app."})
    qr_svg = ma.fields.String(metadata={"description": "The URI as an SVG QR code."})


class ConfirmSchema(ma.Schema):
    code = CODE_FIELD


class ConfirmedSchema(ma.Schema):
    enabled = ma.fields.Boolean()
    enabled_at = ma.fields.DateTime()
    recovery_codes = ma.fields.List(
        ma.fields.String(),
        metadata={"description": "Ten single-use recovery codes: shown this once only."},
    )


class DisableSchema(ma.Schema):
    current_password = PASSWORD_FIELD
    code = ma.fields.String(
        required=True,
        load_only=True,
        validate=validate.Length(min=1, max=32),
        metadata={"description": "A code of your authenticator app, or a recovery code."},
    )
