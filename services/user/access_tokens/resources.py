"""Personal access tokens: yours (``/api/users/me/tokens``) and, for admins, anyone's
(``/api/admin/users/{id}/tokens``). Making, listing and revoking tokens needs a login
session: a token cannot make or revoke tokens."""

from __future__ import annotations

from flask import current_app, url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from services.common.auth import current_principal, require_auth
from services.common.concurrency import check_if_match, etag_of
from services.common.db import utcnow
from services.common.errors import abort
from services.common.events import record_event
from services.common.pagination import paginate, with_link
from services.common.scopes import ADMIN, SESSION
from services.user import lockout, personal_tokens, tokens
from services.user.access_tokens.schemas import (
    NewTokenSchema,
    TokenArgsSchema,
    TokenCreateSchema,
    TokenPageSchema,
    TokenSchema,
)
from services.user.extensions import db
from services.user.models import PersonalAccessToken, User

blp = Blueprint("access_tokens", __name__, url_prefix="/api", description="Personal access tokens")

_token_schema = TokenSchema()


def _page_of(user_id: int, args: dict):
    query = (
        select(PersonalAccessToken)
        .where(PersonalAccessToken.user_id == user_id, PersonalAccessToken.revoked_at.is_(None))
        .order_by(PersonalAccessToken.created_at.desc(), PersonalAccessToken.id.desc())
    )
    return with_link(paginate(db.session, query, args["page"], args["per_page"]))


def _live_token(user_id: int, token_id: int) -> PersonalAccessToken:
    token = db.session.scalar(
        select(PersonalAccessToken).where(
            PersonalAccessToken.id == token_id,
            PersonalAccessToken.user_id == user_id,
            PersonalAccessToken.revoked_at.is_(None),
        )
    )
    if token is None:
        abort(404, "No such token.")
    return token


def _with_etag(token: PersonalAccessToken):
    return token, 200, {"ETag": etag_of(_token_schema.dump(token))}


def _revoke(token: PersonalAccessToken, reason: str) -> None:
    check_if_match(_token_schema.dump(token))
    personal_tokens.revoke(token.user_id, reason, token_id=token.id)
    record_event(
        "user.token_revoked",
        actor=current_principal(),
        entity=("user", token.user_id),
        data={"token": {"id": token.id, "name": token.name, "prefix": token.prefix}},
    )
    db.session.commit()
    tokens.announce_revocation(token.user_id)


def _valid_expiry(data: dict):
    expires_at = data.get("expires_at")
    if expires_at is None:
        return personal_tokens.default_expiry()
    latest = personal_tokens.latest_expiry()
    if expires_at <= utcnow():
        abort(422, "The expiry is in the past.", errors={"expires_at": ["Must be in the future."]})
    if expires_at > latest:
        abort(
            422,
            "The expiry is too far ahead.",
            errors={"expires_at": [f"At most {latest.isoformat()} (PAT_MAX_DAYS)."]},
        )
    return expires_at


@blp.route("/users/me/tokens")
class MyTokens(MethodView):
    decorators = [require_auth(scope=SESSION)]

    @blp.arguments(TokenArgsSchema, location="query")
    @blp.response(200, TokenPageSchema)
    def get(self, args):
        """Your personal access tokens that were not revoked (expired ones included)."""
        return _page_of(current_principal().id, args)

    @blp.arguments(TokenCreateSchema)
    @blp.response(201, NewTokenSchema)
    def post(self, data):
        """Make a personal access token; the answer holds it, the only time it is shown.

        No Idempotency-Key: the answer holds a secret that is stored nowhere, so it
        cannot be replayed. A retry makes a second token; revoke the one you lost."""
        principal = current_principal()
        user = db.session.get(User, principal.id)
        expires_at = _valid_expiry(data)
        if ADMIN in data["scopes"] and user.role != "admin":
            abort(
                422,
                "Only an admin can give a token the admin scope.",
                errors={"scopes": ["The admin scope needs an admin account."]},
            )
        if personal_tokens.live_count(user.id) >= current_app.config["PAT_MAX_PER_USER"]:
            abort(
                422,
                "You have as many tokens as an account may have; revoke one first.",
                code="too_many_tokens",
            )
        lockout.confirm_current_password(user, data["current_password"], "make a token")
        token, secret = personal_tokens.create(user, data["name"], data["scopes"], expires_at)
        record_event(
            "user.token_created",
            actor=principal,
            entity=("user", user.id),
            data={
                "token": {
                    "id": token.id,
                    "name": token.name,
                    "prefix": token.prefix,
                    "scopes": token.scopes,
                    "expires_at": token.expires_at.isoformat(),
                }
            },
        )
        db.session.commit()
        body = {field: getattr(token, field) for field in _token_schema.fields}
        body["token"] = secret
        return body, 201, {"Location": url_for("access_tokens.MyTokenById", token_id=token.id)}


@blp.route("/users/me/tokens/<int:token_id>")
class MyTokenById(MethodView):
    decorators = [require_auth(scope=SESSION)]

    @blp.response(200, TokenSchema)
    def get(self, token_id: int):
        """One of your tokens."""
        return _with_etag(_live_token(current_principal().id, token_id))

    @blp.response(204)
    def delete(self, token_id: int):
        """Revoke one of your tokens: every service refuses it within 2 s."""
        _revoke(_live_token(current_principal().id, token_id), "revoked")


@blp.route("/admin/users/<int:user_id>/tokens")
class AdminUserTokens(MethodView):
    decorators = [require_auth(admin=True)]

    @blp.arguments(TokenArgsSchema, location="query")
    @blp.response(200, TokenPageSchema)
    def get(self, args, user_id: int):
        """Someone's personal access tokens that were not revoked (admin)."""
        if db.session.get(User, user_id) is None:
            abort(404, "No such user.")
        return _page_of(user_id, args)


@blp.route("/admin/users/<int:user_id>/tokens/<int:token_id>")
class AdminUserTokenById(MethodView):
    decorators = [require_auth(admin=True)]

    @blp.response(200, TokenSchema)
    def get(self, user_id: int, token_id: int):
        """One of someone's tokens (admin)."""
        return _with_etag(_live_token(user_id, token_id))

    @blp.response(204)
    def delete(self, user_id: int, token_id: int):
        """Revoke someone's token (admin): every service refuses it within 2 s."""
        _revoke(_live_token(user_id, token_id), "revoked_by_admin")
