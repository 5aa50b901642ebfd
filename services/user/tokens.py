"""Passwords, login sessions and tokens: the only place the signing key is used.

An access token and a refresh token both carry ``sid``, the login session. Refreshing
rotates the refresh token (the session remembers the one current ``jti``); presenting
an older one is reuse, which revokes the whole session. Logout, deactivation and
password changes revoke sessions and announce it on Redis so other services drop
their cached answers at once. A password change, an e-mail change, a deactivation and
a newer reset token spend every outstanding password-reset token.

A bearer token is either an access token (a JWT) or a personal access token (``tp_...``,
:mod:`services.user.personal_tokens`); :mod:`services.user.verification` tells them
apart. A session's scopes are every scope, except for an admin without two-factor while
``REQUIRE_2FA_FOR_ADMINS`` is on: only :data:`~services.common.scopes.SIGNED_IN` (enrol
in two-factor, sign out). When a session or token was last used is written at most once
per ``LAST_USED_RESOLUTION_SECONDS``, never on every request.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt as pyjwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_request_context, request
from flask_jwt_extended import create_access_token, create_refresh_token, decode_token
from flask_jwt_extended.exceptions import JWTExtendedException
from sqlalchemy import or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from services.common.auth import InvalidToken, Principal, publish_revocation
from services.common.db import utcnow
from services.common.redis_store import get_redis
from services.common.scopes import SESSION_SCOPES, SIGNED_IN
from services.user.extensions import db
from services.user.models import LoginSession, PasswordResetToken, User

hasher = PasswordHasher()  # argon2id with the library's recommended parameters
_dummy_hash: list[str] = []
log = logging.getLogger(__name__)


def hash_password(password: str) -> str:
    return hasher.hash(password)


def check_password(user: User | None, password: str) -> bool:
    """Check ``password``; spends the same time when there is no such user."""
    if user is None:
        if not _dummy_hash:
            _dummy_hash.append(hasher.hash(uuid.uuid4().hex))
        with contextlib.suppress(VerificationError):
            hasher.verify(_dummy_hash[0], password)
        return False
    try:
        hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return True


def keyed_hash(secret: str) -> str:
    """HMAC-SHA256 of a high-entropy secret (a personal access token, a recovery code)
    under ``TOKEN_HASH_KEY``: fast enough for every request, useless without the key."""
    config = current_app.config
    key = config.get("TOKEN_HASH_KEY") or hmac.digest(
        config["JWT_SECRET_KEY"].encode(), b"taskplatform token hashes", "sha256"
    )
    key = key.encode() if isinstance(key, str) else key
    return hmac.new(key, secret.encode(), hashlib.sha256).hexdigest()


def _claims(session_id: str) -> dict[str, Any]:
    return {"sid": session_id}


def issue_tokens(
    user: User, session: LoginSession | None = None, *, signed_in_with: str = "password"
) -> dict[str, Any]:
    """A new token pair; opens a login session (noting the client's user agent and
    address) unless rotating an existing one."""
    now = utcnow()
    if session is None:
        session = LoginSession(
            id=str(uuid.uuid4()),
            user_id=user.id,
            current_refresh_jti="",
            signed_in_with=signed_in_with,
            last_used_at=now,
            **_client_details(),
        )
        db.session.add(session)
    else:
        session.refreshed_at = session.last_used_at = now
    access = create_access_token(identity=str(user.id), additional_claims=_claims(session.id))
    refresh = create_refresh_token(identity=str(user.id), additional_claims=_claims(session.id))
    session.current_refresh_jti = decode_token(refresh)["jti"]
    return {
        "access_token": access,
        "refresh_token": refresh,
        "token_type": "Bearer",
        "expires_in": current_app.config["JWT_ACCESS_TOKEN_EXPIRES"],
        "user": user,
    }


def _client_details() -> dict[str, str | None]:
    if not has_request_context():
        return {"user_agent": None, "ip_address": None}
    agent = request.headers.get("User-Agent")
    return {"user_agent": agent[:255] if agent else None, "ip_address": request.remote_addr}


def decode(token: str, expected_type: str) -> dict[str, Any]:
    """Check signature, expiry and type; raise :class:`InvalidToken` otherwise."""
    try:
        claims = decode_token(token)
    except pyjwt.ExpiredSignatureError as exc:
        raise InvalidToken("The token has expired.") from exc
    except (pyjwt.PyJWTError, JWTExtendedException, ValueError) as exc:
        raise InvalidToken("The token is not valid.") from exc
    if claims.get("type") != expected_type or "sid" not in claims:
        raise InvalidToken(f"An {expected_type} token is required.")
    return claims


def session_for(claims: dict[str, Any], *, lock: bool = False) -> tuple[LoginSession, User]:
    """The live session and active user a token belongs to, or :class:`InvalidToken`."""
    query = select(LoginSession, User).join(User).where(LoginSession.id == claims["sid"])
    if lock:
        query = query.with_for_update(of=LoginSession)
    row = db.session.execute(query).first()
    if row is None:
        raise InvalidToken("The token is not valid.")
    session, user = row
    if str(user.id) != str(claims.get("sub")):
        raise InvalidToken("The token is not valid.")
    if session.revoked_at is not None:
        raise InvalidToken("The token has been revoked.")
    if not user.is_active:
        raise InvalidToken("The account is deactivated.")
    return session, user


def session_scopes(user: User) -> frozenset[str]:
    """What a login session of ``user`` may do."""
    if (
        current_app.config["REQUIRE_2FA_FOR_ADMINS"]
        and user.role == "admin"
        and not user.has_two_factor
    ):
        return frozenset({SIGNED_IN})
    return SESSION_SCOPES


def verify_access_token(token: str) -> tuple[Principal, int]:
    """The principal for an access token and the seconds until it expires."""
    claims = decode(token, "access")
    session, user = session_for(claims)
    touch_last_used(LoginSession, session.id, session.last_used_at)
    expires_in = max(0, int(claims["exp"] - datetime.now(UTC).timestamp()))
    principal = Principal(user.id, user.username, user.role, session.id, session_scopes(user))
    return principal, expires_in


def touch_last_used(model: type, row_id: Any, last_used_at: datetime | None) -> None:
    """Note that a session or token was used, at most once per
    ``LAST_USED_RESOLUTION_SECONDS`` (on its own connection, best effort)."""
    now = utcnow()
    resolution = timedelta(seconds=current_app.config["LAST_USED_RESOLUTION_SECONDS"])
    if last_used_at is not None and now - last_used_at < resolution:
        return
    column = model.last_used_at
    try:
        with db.engine.begin() as connection:
            connection.execute(
                update(model)
                .where(model.id == row_id, or_(column.is_(None), column < now - resolution))
                .values(last_used_at=now)
            )
    except SQLAlchemyError as exc:
        log.warning("could not note when %s %s was last used: %s", model.__name__, row_id, exc)


def revoke_sessions(
    user_id: int, reason: str, *, keep_session: str | None = None, only_session: str | None = None
) -> None:
    """Revoke a user's live sessions (all, all but one, or exactly one). Caller commits."""
    query = (
        update(LoginSession)
        .where(LoginSession.user_id == user_id, LoginSession.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
    )
    if keep_session:
        query = query.where(LoginSession.id != keep_session)
    if only_session:
        query = query.where(LoginSession.id == only_session)
    db.session.execute(query)


def revoke_reset_tokens(user_id: int) -> None:
    """Spend every outstanding password-reset token of a user. Caller commits."""
    db.session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.user_id == user_id, PasswordResetToken.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def announce_revocation(user_id: int) -> None:
    """After commit: tell every service to drop cached answers for this user."""
    publish_revocation(get_redis(), user_id)
