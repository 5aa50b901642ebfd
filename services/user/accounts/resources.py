"""Registration, login (and its second step), token refresh, logout and password reset."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app, url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import func, or_, select, update

from services.common.auth import InvalidToken, bearer_token, current_principal, require_auth
from services.common.db import utcnow
from services.common.errors import abort
from services.common.events import record_event
from services.common.idempotency import idempotent
from services.common.ratelimit import auth_limit
from services.common.scopes import SESSION, SIGNED_IN
from services.user import lockout, personal_tokens, second_factor, signin, tokens
from services.user.accounts.schemas import (
    ForgotPasswordSchema,
    LoginOtpSchema,
    LoginSchema,
    MessageSchema,
    RegisterSchema,
    ResetPasswordSchema,
    TokenPairSchema,
)
from services.user.extensions import db, limiter
from services.user.models import PasswordResetToken, User
from services.user.users.schemas import UserSchema

blp = Blueprint("auth", __name__, url_prefix="/api", description="Accounts and tokens")
PUBLIC = {"security": []}


def _taken(username: str, email: str, exclude_id: int | None = None) -> dict[str, list[str]]:
    query = select(User.username, User.email).where(
        or_(User.username == username, User.email == email)
    )
    if exclude_id is not None:
        query = query.where(User.id != exclude_id)
    errors: dict[str, list[str]] = {}
    for row in db.session.execute(query):
        if row.username == username:
            errors["username"] = ["This username is taken."]
        if row.email == email:
            errors["email"] = ["An account with this e-mail exists."]
    return errors


def new_account(
    username: str, email: str, full_name: str | None, password: str, **event_data: str
) -> User:
    """Add an account and its ``user.registered`` event to the session (not committed)."""
    user = User(
        username=username,
        email=email,
        full_name=full_name,
        password_hash=tokens.hash_password(password),
    )
    db.session.add(user)
    db.session.flush()
    record_event(
        "user.registered",
        actor=user,
        entity=("user", user.id),
        data={"username": user.username, "email": user.email, **event_data},
    )
    return user


@blp.route("/register")
class Register(MethodView):
    @blp.doc(**PUBLIC)
    @idempotent
    @auth_limit(limiter)
    @blp.arguments(RegisterSchema)
    @blp.response(201, UserSchema)
    @blp.alt_response(409, response="CONFLICT")
    def post(self, data):
        """Create an account."""
        username, email = data["username"].lower(), data["email"].lower()
        errors = _taken(username, email)
        if errors:
            abort(409, "An account with these details exists.", code="conflict", errors=errors)
        user = new_account(username, email, data.get("full_name"), data["password"])
        db.session.commit()
        return user, 201, {"Location": url_for("users.UserById", user_id=user.id)}


@blp.route("/login")
class Login(MethodView):
    @blp.doc(**PUBLIC)
    @auth_limit(limiter)
    @blp.arguments(LoginSchema)
    @blp.response(200, TokenPairSchema)
    @blp.alt_response(401, response="UNAUTHORIZED")
    @blp.alt_response(403, response="FORBIDDEN")
    def post(self, data):
        """Exchange a username or e-mail and password for a token pair (or, with
        two-factor, for 401 otp_required and the otp_token of the second step)."""
        identifier = (data.get("username") or data.get("email")).lower()
        column = User.username if "username" in data else User.email
        user = db.session.scalar(select(User).where(column == identifier))
        if user is None:
            tokens.check_password(None, data["password"])  # the same time as a wrong one
            abort(401, signin.WRONG, code="invalid_credentials")
        # With two-factor only the right code after it clears the lockout count.
        right = lockout.verify_password(user, data["password"], settle=not user.has_two_factor)
        return signin.sign_in(user, signed_in_with="password", first_factor_ok=right)


@blp.route("/login/otp")
class LoginOtp(MethodView):
    @blp.doc(**PUBLIC)
    @auth_limit(limiter)
    @blp.arguments(LoginOtpSchema)
    @blp.response(200, TokenPairSchema)
    @blp.alt_response(401, response="UNAUTHORIZED")
    @blp.alt_response(403, response="FORBIDDEN")
    def post(self, data):
        """The second step of a login: the otp_token and a TOTP or recovery code."""
        wrong = "Wrong password or code; sign in again if the password may have been wrong."
        challenge = second_factor.find_challenge(data["otp_token"])
        if challenge is None:
            abort(
                401, "The sign-in expired or is unknown; sign in again.", code="invalid_credentials"
            )
        user = db.session.get(User, challenge.user_id)
        if user is None or not user.has_two_factor:
            abort(
                401, "The sign-in expired or is unknown; sign in again.", code="invalid_credentials"
            )
        if not challenge.first_factor_ok:
            # A wrong password's challenge costs an attempt like any other, and never opens.
            lockout.claim_attempt(user.id)
            abort(401, wrong, code="invalid_credentials")
        if not second_factor.check_code(user, data["code"]):
            abort(401, wrong, code="invalid_credentials")
        if not second_factor.close_challenge(data["otp_token"]):
            db.session.rollback()
            abort(
                401, "The sign-in expired or is unknown; sign in again.", code="invalid_credentials"
            )
        return signin.open_session(user, challenge.signed_in_with)


@blp.route("/token/refresh")
class TokenRefresh(MethodView):
    @blp.doc(
        description="Send the refresh token as the bearer token.",
        **{"x-required-scope": SESSION},
    )
    @blp.response(200, TokenPairSchema)
    def post(self):
        """Rotate a refresh token into a new token pair."""
        token = bearer_token()
        if token is None:
            abort(401, "A refresh token is required as the bearer token.")
        try:
            claims = tokens.decode(token, "refresh")
            session, user = tokens.session_for(claims, lock=True)
        except InvalidToken as exc:
            abort(401, exc.detail)
        if claims["jti"] != session.current_refresh_jti:
            # A rotated-out refresh token came back: treat the family as stolen.
            tokens.revoke_sessions(user.id, "refresh_reuse", only_session=session.id)
            db.session.commit()
            tokens.announce_revocation(user.id)
            abort(401, "This refresh token was already used; the session is revoked.")
        pair = tokens.issue_tokens(user, session)
        db.session.commit()
        return pair


@blp.route("/logout")
class Logout(MethodView):
    @require_auth(scope=SIGNED_IN)
    @blp.response(204)
    def post(self):
        """Revoke the current access token and its refresh token."""
        principal = current_principal()
        tokens.revoke_sessions(principal.id, "logout", only_session=principal.session_id)
        record_event("user.logout", actor=principal, entity=("user", principal.id))
        db.session.commit()
        tokens.announce_revocation(principal.id)


@blp.route("/password/forgot")
class PasswordForgot(MethodView):
    @blp.doc(**PUBLIC)
    @auth_limit(limiter)
    @blp.arguments(ForgotPasswordSchema)
    @blp.response(202, MessageSchema)
    def post(self, data):
        """Ask for a password-reset e-mail (always 202, whether or not the account exists)."""
        user = db.session.scalar(
            select(User).where(func.lower(User.email) == data["email"].lower())
        )
        if user is not None and user.is_active:
            token = secrets.token_urlsafe(32)
            ttl = current_app.config["PASSWORD_RESET_TTL_SECONDS"]
            tokens.revoke_reset_tokens(user.id)  # only the newest one works
            db.session.add(
                PasswordResetToken(
                    user_id=user.id,
                    token_hash=hashlib.sha256(token.encode()).hexdigest(),
                    expires_at=utcnow() + timedelta(seconds=ttl),
                )
            )
            record_event(
                "user.password_reset_requested",
                actor=user,
                entity=("user", user.id),
                data={"email": user.email, "reset_token": token, "expires_in": ttl},
            )
            db.session.commit()
        return {"message": "If an account has this e-mail, a reset link is on its way."}


@blp.route("/password/reset")
class PasswordReset(MethodView):
    @blp.doc(**PUBLIC)
    @auth_limit(limiter)
    @blp.arguments(ResetPasswordSchema)
    @blp.response(200, MessageSchema)
    def post(self, data):
        """Set a new password with a reset token; signs out every session."""
        token_hash = hashlib.sha256(data["token"].encode()).hexdigest()
        now = utcnow()
        # Spent in one statement: of two requests racing with the same token, one wins.
        user_id = db.session.scalar(
            update(PasswordResetToken)
            .where(
                PasswordResetToken.token_hash == token_hash,
                PasswordResetToken.used_at.is_(None),
                PasswordResetToken.expires_at > now,
            )
            .values(used_at=now)
            .returning(PasswordResetToken.user_id)
            .execution_options(synchronize_session=False)
        )
        user = db.session.get(User, user_id) if user_id is not None else None
        if user is None or not user.is_active:
            db.session.rollback()
            abort(
                422,
                "The reset token is invalid or has expired.",
                errors={"token": ["Invalid or expired."]},
            )
        user.password_hash = tokens.hash_password(data["new_password"])
        user.failed_logins = 0
        user.locked_until = None
        tokens.revoke_reset_tokens(user.id)
        tokens.revoke_sessions(user.id, "password_reset")
        # Whoever had the account may have made tokens: a reset is a fresh start.
        personal_tokens.revoke(user.id, "password_reset")
        record_event("user.password_reset", actor=user, entity=("user", user.id))
        db.session.commit()
        tokens.announce_revocation(user.id)
        return {"message": "Your password has been changed; sign in again."}
