"""The lockout: how many times a known account's password may be checked.

Every check of an account's password (login, and ``current_password`` on
``/api/users/me``) first claims an attempt with one ``UPDATE ... RETURNING`` committed
before the password is verified, so the count holds on PostgreSQL and SQLite, across
gunicorn workers and replicas, however many requests race. ``failed_logins`` counts the
attempts since the last correct password; the claim that takes the last of
``LOGIN_MAX_FAILURES`` also sets ``locked_until``, and while that lies ahead no claim
succeeds (429 ``account_locked`` with ``Retry-After``). A correct password clears both;
a lock runs out by itself, also when the process holding the last attempt died.
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


def verify_password(user: User, password: str) -> bool:
    """Check a known account's password, spending one attempt of the lockout.

    Answers 429 ``account_locked`` when no attempt is left. Commits the claim at once;
    on success the caller's transaction clears the count.
    """
    _claim_attempt(user.id)
    if not tokens.check_password(user, password):
        return False
    user.failed_logins = 0
    user.locked_until = None
    return True


def _claim_attempt(user_id: int) -> None:
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
