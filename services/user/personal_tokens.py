"""Personal access tokens: long-lived bearer tokens for scripts, limited to scopes.

A token is ``tp_`` and 43 URL-safe characters (256 random bits). It is shown once, when
it is made; the database keeps its HMAC-SHA256 (:func:`~services.user.tokens.keyed_hash`:
a fast keyed hash is enough for so much randomness, and argon2 would slow every request)
and its first 11 characters, so people can tell their tokens apart. Verification looks
the hash up with the owner in one query: a revoked or expired token, or one of a
deactivated account, is 401. Revoking announces on ``auth:revocations`` like a logout, so
every service drops its cached answer within 2 s.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select, update

from services.common.auth import InvalidToken, Principal
from services.common.db import utcnow
from services.common.scopes import GRANTABLE
from services.user.extensions import db
from services.user.models import PersonalAccessToken, User
from services.user.tokens import keyed_hash, touch_last_used

PREFIX = "tp_"
# What the token list shows of a token: "tp_" and its next 8 characters.
SHOWN_LENGTH = len(PREFIX) + 8


def new_secret() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def create(
    user: User, name: str, scopes: list[str], expires_at: datetime
) -> tuple[PersonalAccessToken, str]:
    """A new token of ``user`` (added to the session, not committed) and its secret."""
    secret = new_secret()
    token = PersonalAccessToken(
        user_id=user.id,
        name=name,
        prefix=secret[:SHOWN_LENGTH],
        token_hash=keyed_hash(secret),
        scopes=sorted(set(scopes)),
        expires_at=expires_at,
    )
    db.session.add(token)
    db.session.flush()
    return token, secret


def verify(secret: str) -> tuple[Principal, int]:
    """The principal a token acts as and the seconds until it expires."""
    row = db.session.execute(
        select(PersonalAccessToken, User)
        .join(User, PersonalAccessToken.user_id == User.id)
        .where(PersonalAccessToken.token_hash == keyed_hash(secret))
    ).first()
    if row is None:
        raise InvalidToken("The token is not valid.")
    token, user = row
    now = utcnow()
    if token.revoked_at is not None:
        raise InvalidToken("The token has been revoked.")
    if token.expires_at <= now:
        raise InvalidToken("The token has expired.")
    if not user.is_active:
        raise InvalidToken("The account is deactivated.")
    touch_last_used(PersonalAccessToken, token.id, token.last_used_at)
    scopes = frozenset(token.scopes) & GRANTABLE
    principal = Principal(user.id, user.username, user.role, f"pat:{token.id}", scopes)
    return principal, int((token.expires_at - now).total_seconds())


def live_count(user_id: int) -> int:
    """How many of the user's tokens still work."""
    return db.session.scalar(
        select(func.count())
        .select_from(PersonalAccessToken)
        .where(
            PersonalAccessToken.user_id == user_id,
            PersonalAccessToken.revoked_at.is_(None),
            PersonalAccessToken.expires_at > utcnow(),
        )
    )


def latest_expiry() -> datetime:
    return utcnow() + timedelta(days=current_app.config["PAT_MAX_DAYS"])


def default_expiry() -> datetime:
    days = min(current_app.config["PAT_DEFAULT_DAYS"], current_app.config["PAT_MAX_DAYS"])
    return utcnow() + timedelta(days=days)


def revoke(user_id: int, reason: str, *, token_id: int | None = None) -> list[int]:
    """Revoke one token of a user, or all of them; the ids revoked. Caller commits, then
    announces (:func:`services.user.tokens.announce_revocation`)."""
    query = (
        update(PersonalAccessToken)
        .where(PersonalAccessToken.user_id == user_id, PersonalAccessToken.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
        .returning(PersonalAccessToken.id)
        .execution_options(synchronize_session=False)
    )
    if token_id is not None:
        query = query.where(PersonalAccessToken.id == token_id)
    return list(db.session.scalars(query))


def expiring_between(start: datetime, end: datetime, limit: int) -> list[PersonalAccessToken]:
    """Live tokens of active accounts that expire in ``(start, end]``, soonest first."""
    return list(
        db.session.scalars(
            select(PersonalAccessToken)
            .join(User, PersonalAccessToken.user_id == User.id)
            .where(
                PersonalAccessToken.revoked_at.is_(None),
                PersonalAccessToken.expires_at > start,
                PersonalAccessToken.expires_at <= end,
                User.is_active.is_(True),
            )
            .order_by(PersonalAccessToken.expires_at, PersonalAccessToken.id)
            .limit(limit)
        )
    )
