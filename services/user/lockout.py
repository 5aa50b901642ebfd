"""The lockout: how many times a known account's password, or its second factor, may be
checked.

Every check of an account's password (login, and ``current_password`` on
``/api/users/me``, tokens and two-factor) and of a one-time code (the second step of a
login, two-factor confirmation and disabling) first claims an attempt with one ``UPDATE
... RETURNING`` committed before the secret is verified, so the count holds on PostgreSQL and SQLite, across
gunicorn workers and replicas, however many requests race. ``failed_logins`` counts the
attempts since the last correct password; the claim that takes the last of
``LOGIN_MAX_FAILURES`` also sets ``locked_until``, and while that lies ahead no claim
succeeds (429 ``account_locked`` with ``Retry-After``). A correct password clears both;
a lock runs out by itself, also when the process holding the last attempt died. For an
account with two-factor, a right password at login does not clear the count: only the
right code after it does (so the count cannot tell a password guesser it guessed right).
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy import case, or_, select, update

from services.common.db import UTCDateTime, utcnow
from services.common.errors import abort
from services.user import tokens
from services.user.extensions import db
from services.user.models import User


def verify_password(user: User, password: str, *, settle: bool = True) -> bool:
    """Check a known account's password, spending one attempt of the lockout.

    Answers 429 ``account_locked`` when no attempt is left. Commits the claim at once;
    on success the caller's transaction clears the count (unless ``settle`` is false:
    a second factor is still to come).
    """
    claim_attempt(user.id)
    if not tokens.check_password(user, password):
        return False
    if settle:
        clear(user)
    return True


def confirm_current_password(
    user: User,
    current_password: str | None,
    purpose: str = "change the e-mail or password",
    *,
    settle: bool = True,
) -> None:
    """422 unless ``current_password`` is right; each try spends a lockout attempt (429).
    With ``settle`` false a right password leaves the count for a code checked next."""
    if not current_password:
        abort(
            422,
            f"Give your current password to {purpose}.",
            errors={"current_password": [f"Required to {purpose}."]},
        )
    if not verify_password(user, current_password, settle=settle):
        abort(422, "The current password is wrong.", errors={"current_password": ["Wrong."]})


def clear(user: User) -> None:
    """The secret was right: the count starts again (in the caller's transaction)."""
    user.failed_logins = 0
    user.locked_until = None


def claim_attempt(user_id: int) -> None:
    """Spend one attempt before checking a secret of the account; 429 when none is left."""
    config = current_app.config
    now = utcnow()
    lock_until = now + timedelta(seconds=config["LOGIN_LOCKOUT_SECONDS"])
    # Only rows that are not locked (or whose lock ran out) get here: a lock that ran out
    # starts a fresh count.
    attempts = case((User.locked_until.is_not(None), 1), else_=User.failed_logins + 1)
    claimed = db.session.execute(
        update(User)
        .where(User.id == user_id, or_(User.locked_until.is_(None), User.locked_until <= now))
        .values(
            failed_logins=attempts,
            locked_until=case(
                (attempts >= config["LOGIN_MAX_FAILURES"], sa.literal(lock_until, UTCDateTime())),
                else_=sa.null(),
            ),
        )
        .returning(User.failed_logins)
        .execution_options(synchronize_session=False)
    ).first()
    if claimed is not None:
        db.session.commit()
        return
    locked_until = db.session.scalar(select(User.locked_until).where(User.id == user_id))
    db.session.rollback()
    retry = int((locked_until - now).total_seconds()) + 1 if locked_until else 1
    abort(
        429,
        "Too many wrong passwords; the account is locked for a while.",
        code="account_locked",
        headers={"Retry-After": str(max(retry, 1))},
    )
