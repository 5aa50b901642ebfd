"""The end of every sign-in (a password, a provider): the second factor when the account
has one, then a new login session and its token pair."""

from __future__ import annotations

from typing import Any, NoReturn

from flask import current_app

from services.common.db import utcnow
from services.common.errors import abort
from services.common.events import record_event
from services.user import second_factor, tokens
from services.user.extensions import db
from services.user.models import User

WRONG = "Wrong username, e-mail or password."


def sign_in(user: User, *, signed_in_with: str, first_factor_ok: bool = True) -> dict[str, Any]:
    """The token pair for ``user``; 401 ``otp_required`` (with a challenge) when the
    account has two-factor, whether or not ``first_factor_ok``."""
    if user.has_two_factor:
        ask_for_code(user, first_factor_ok=first_factor_ok, signed_in_with=signed_in_with)
    if not first_factor_ok:
        abort(401, WRONG, code="invalid_credentials")
    return open_session(user, signed_in_with)


def ask_for_code(user: User, *, first_factor_ok: bool, signed_in_with: str) -> NoReturn:
    """401 ``otp_required`` with the ``otp_token`` to send the code with."""
    db.session.commit()  # what the first factor settled (the lockout count)
    token = second_factor.open_challenge(
        user, first_factor_ok=first_factor_ok, signed_in_with=signed_in_with
    )
    abort(
        401,
        "Send the one-time code of your authenticator app (or a recovery code) with this "
        "otp_token to POST /api/login/otp.",
        code="otp_required",
        otp_token=token,
        otp_expires_in=current_app.config["OTP_CHALLENGE_TTL_SECONDS"],
    )


def open_session(user: User, signed_in_with: str) -> dict[str, Any]:
    """A new login session of an active account: its token pair (committed)."""
    if not user.is_active:
        abort(403, "This account is deactivated.", code="account_disabled")
    user.last_login_at = utcnow()
    pair = tokens.issue_tokens(user, signed_in_with=signed_in_with)
    record_event(
        "user.login", actor=user, entity=("user", user.id), data={"method": signed_in_with}
    )
    db.session.commit()
    return pair
