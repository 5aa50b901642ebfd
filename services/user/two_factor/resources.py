"""Two-factor (TOTP) for your account: ``/api/users/me/2fa``.

Enrolment needs your password and answers the secret, its ``otpauth://`` URI and an SVG
QR code; a code of the app confirms it and answers ten recovery codes, once. Disabling
needs the password and a code. These endpoints take any login session (also the
restricted one of an admin who must enrol first), never a personal access token.
"""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from services.common.auth import current_principal, require_auth
from services.common.db import utcnow
from services.common.errors import abort
from services.common.events import record_event
from services.common.scopes import SIGNED_IN
from services.user import lockout, second_factor, tokens
from services.user.extensions import db
from services.user.models import User
from services.user.two_factor.schemas import (
    ConfirmedSchema,
    ConfirmSchema,
    DisableSchema,
    EnrolmentSchema,
    EnrolSchema,
    TwoFactorStatusSchema,
)

blp = Blueprint("two_factor", __name__, url_prefix="/api/users/me/2fa", description="Two-factor")


def _me() -> User:
    return db.session.get(User, current_principal().id)


def _required(user: User) -> bool:
    return current_app.config["REQUIRE_2FA_FOR_ADMINS"] and user.role == "admin"


@blp.route("")
class TwoFactor(MethodView):
    decorators = [require_auth(scope=SIGNED_IN)]

    @blp.response(200, TwoFactorStatusSchema)
    def get(self):
        """Whether two-factor is on, and how many recovery codes are left."""
        user = _me()
        return {
            "enabled": user.has_two_factor,
            "enabled_at": user.totp_enabled_at,
            "pending": user.totp_secret is not None and not user.has_two_factor,
            "recovery_codes_left": second_factor.recovery_codes_left(user.id),
            "required": _required(user),
        }

    @blp.arguments(EnrolSchema)
    @blp.response(201, EnrolmentSchema)
    @blp.alt_response(409, response="CONFLICT")
    def post(self, data):
        """Start enrolment: a new secret for your authenticator app (confirm it with a code).

        No Idempotency-Key: the answer holds a secret that is not kept for replays.
        Starting again replaces a secret that was not confirmed."""
        user = _me()
        if user.has_two_factor:
            abort(409, "Two-factor is already on; disable it first.", code="conflict")
        lockout.confirm_current_password(user, data["current_password"], "set up two-factor")
        secret = second_factor.new_secret()
        user.totp_secret = secret
        user.totp_last_step = None
        db.session.commit()
        uri = second_factor.provisioning_uri(user, secret)
        body = {"secret": secret, "otpauth_uri": uri, "qr_svg": second_factor.qr_svg(uri)}
        return body, 201, {"Location": "/api/users/me/2fa"}


@blp.route("/confirm")
class TwoFactorConfirm(MethodView):
    decorators = [require_auth(scope=SIGNED_IN)]

    @blp.arguments(ConfirmSchema)
    @blp.response(200, ConfirmedSchema)
    @blp.alt_response(409, response="CONFLICT")
    def post(self, data):
        """Turn two-factor on with a code of the app; answers ten recovery codes, once."""
        user = _me()
        if user.has_two_factor or user.totp_secret is None:
            abort(409, "There is no enrolment to confirm; start one first.", code="conflict")
        if not second_factor.check_code(user, data["code"], recovery=False):
            abort(
                422, "The code is wrong or was used already.", errors={"code": ["Wrong or used."]}
            )
        user.totp_enabled_at = utcnow()
        codes = second_factor.new_recovery_codes(user)
        record_event("user.two_factor_enabled", actor=current_principal(), entity=("user", user.id))
        db.session.commit()
        tokens.announce_revocation(user.id)  # a restricted admin session gets its scopes
        return {"enabled": True, "enabled_at": user.totp_enabled_at, "recovery_codes": codes}


@blp.route("/disable")
class TwoFactorDisable(MethodView):
    decorators = [require_auth(scope=SIGNED_IN)]

    @blp.arguments(DisableSchema)
    @blp.response(204)
    @blp.alt_response(409, response="CONFLICT")
    def post(self, data):
        """Turn two-factor off: needs your password and a code (or a recovery code)."""
        user = _me()
        if not user.has_two_factor:
            abort(409, "Two-factor is not on.", code="conflict")
        if _required(user):
            abort(409, "Admins must keep two-factor (REQUIRE_2FA_FOR_ADMINS).", code="conflict")
        # The count clears only when the code is right too.
        lockout.confirm_current_password(
            user, data["current_password"], "turn two-factor off", settle=False
        )
        if not second_factor.check_code(user, data["code"]):
            abort(
                422, "The code is wrong or was used already.", errors={"code": ["Wrong or used."]}
            )
        user.totp_secret = user.totp_enabled_at = user.totp_last_step = None
        second_factor.drop_recovery_codes(user.id)
        record_event(
            "user.two_factor_disabled", actor=current_principal(), entity=("user", user.id)
        )
        db.session.commit()
