"""Two-factor: TOTP codes (pyotp), single-use recovery codes, and the login challenge.

- A TOTP code is accepted for the current 30-second step or one step either side (clock
  drift), and only for a step later than the last one accepted for the account: one
  ``UPDATE users SET totp_last_step = :step WHERE ... totp_last_step < :step`` claims the
  step and commits, so a code cannot be used twice, also by two racing requests.
- Ten recovery codes (``xxxx-xxxx-xxxx``, about 59 random bits each) are shown once, at
  confirmation; the database keeps their keyed hashes. One is spent by one ``UPDATE ...
  WHERE used_at IS NULL RETURNING``, committed at once.
- Every code check spends an attempt of the account's lockout first
  (:mod:`services.user.lockout`), shared with password checks: wrong codes lock the
  account like wrong passwords.
- The login challenge: after the first factor of an account with two-factor, login
  answers 401 ``otp_required`` with an ``otp_token``, a random key of a Redis entry
  (``auth:otp:<keyed hash>``, ``OTP_CHALLENGE_TTL_SECONDS``) naming the account and
  whether the first factor was right. A wrong password gets a challenge too, one that
  can never succeed, so the answer to a password alone says nothing about the password.
"""

from __future__ import annotations

import hmac
import io
import json
import secrets
import time
from dataclasses import dataclass

import pyotp
import segno
from flask import current_app
from sqlalchemy import delete, func, or_, select, update

from services.common.db import utcnow
from services.common.redis_store import get_redis
from services.user import lockout
from services.user.extensions import db
from services.user.models import RecoveryCode, User
from services.user.tokens import keyed_hash

RECOVERY_CODE_COUNT = 10
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i
STEP_SECONDS = 30
DRIFT_STEPS = 1
CHALLENGE_KEY = "auth:otp:{}"


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(user: User, secret: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads (from the QR code)."""
    issuer = current_app.config["TOTP_ISSUER"]
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=issuer)


def qr_svg(uri: str) -> str:
    """The URI as a standalone SVG QR code."""
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(buffer, kind="svg", scale=4, xmldecl=False)
    return buffer.getvalue().decode()


def _normalised(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def _is_totp(code: str) -> bool:
    return len(code) == 6 and code.isdigit()


def accept_totp(user: User, secret: str, code: str) -> bool:
    """True for a right code of a step not used before (that step is then spent)."""
    code = _normalised(code)
    if not _is_totp(code):
        return False
    totp = pyotp.TOTP(secret)
    now_step = int(time.time()) // STEP_SECONDS
    steps = range(now_step - DRIFT_STEPS, now_step + DRIFT_STEPS + 1)
    matched = [step for step in steps if hmac.compare_digest(totp.generate_otp(step), code)]
    if not matched:
        return False
    step = matched[-1]
    claimed = db.session.execute(
        update(User)
        .where(
            User.id == user.id,
            or_(User.totp_last_step.is_(None), User.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .returning(User.id)
        .execution_options(synchronize_session=False)
    ).first()
    db.session.commit()
    return claimed is not None


def spend_recovery_code(user: User, code: str) -> bool:
    """True for an unused recovery code of the account (now spent)."""
    normalised = _normalised(code)
    if len(normalised) != 12:
        return False
    spent = db.session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == keyed_hash(normalised),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
        .returning(RecoveryCode.id)
        .execution_options(synchronize_session=False)
    ).first()
    db.session.commit()
    return spent is not None


def check_code(user: User, code: str, *, recovery: bool = True) -> bool:
    """Check a TOTP code (or, with ``recovery``, a recovery code) of an account with
    two-factor, spending a lockout attempt first (429 ``account_locked`` when none is
    left). A right code clears the count in the caller's transaction."""
    lockout.claim_attempt(user.id)
    secret = user.totp_secret
    if secret is None:
        return False
    if _is_totp(_normalised(code)):
        ok = accept_totp(user, secret, code)
    else:
        ok = recovery and spend_recovery_code(user, code)
    if ok:
        lockout.clear(user)
    return ok


def new_recovery_codes(user: User) -> list[str]:
    """Ten fresh recovery codes (the old ones are dropped); added to the session."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [
        "-".join("".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(4)) for _ in range(3))
        for _ in range(RECOVERY_CODE_COUNT)
    ]
    db.session.add_all(
        RecoveryCode(user_id=user.id, code_hash=keyed_hash(_normalised(code))) for code in codes
    )
    return codes


def recovery_codes_left(user_id: int) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
    )


def drop_recovery_codes(user_id: int) -> None:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))


@dataclass(frozen=True)
class Challenge:
    """A login waiting for its second factor."""

    user_id: int
    first_factor_ok: bool
    signed_in_with: str


def open_challenge(user: User, *, first_factor_ok: bool, signed_in_with: str) -> str:
    """Remember a login waiting for its code; the ``otp_token`` that names it."""
    token = secrets.token_urlsafe(32)
    value = json.dumps(
        {"user_id": user.id, "first_factor_ok": first_factor_ok, "signed_in_with": signed_in_with}
    )
    ttl = current_app.config["OTP_CHALLENGE_TTL_SECONDS"]
    get_redis().set(CHALLENGE_KEY.format(keyed_hash(token)), value, ex=ttl)
    return token


def find_challenge(token: str) -> Challenge | None:
    raw = get_redis().get(CHALLENGE_KEY.format(keyed_hash(token)))
    if raw is None:
        return None
    value = json.loads(raw)
    return Challenge(value["user_id"], value["first_factor_ok"], value["signed_in_with"])


def close_challenge(token: str) -> bool:
    """End a challenge; False when another request ended it first."""
    return bool(get_redis().delete(CHALLENGE_KEY.format(keyed_hash(token))))
