"""Endpoints for other services only (``X-Service-Token``; nginx never routes them)."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, request
from sqlalchemy import or_, select

from services.common.auth import InvalidToken
from services.common.contracts import ExpiringTokenListSchema, UserListSchema
from services.common.db import utcnow
from services.common.errors import abort
from services.common.http import require_service_token
from services.user import personal_tokens
from services.user.extensions import db
from services.user.models import User
from services.user.verification import verify_bearer_token

EXPIRING_AT_MOST = 1000

blueprint = Blueprint("internal", __name__, url_prefix="/internal")


@blueprint.post("/auth/verify")
@require_service_token
def verify():
    """Check an access token or a personal access token: who it belongs to and what it
    may do (its scopes), or 401 with the reason."""
    body = request.get_json(silent=True)
    token = body.get("token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token:
        abort(422, "Give the token to verify.", errors={"token": ["Required."]})
    try:
        principal, expires_in = verify_bearer_token(token)
    except InvalidToken as exc:
        abort(401, exc.detail, code=exc.code)
    return {
        "active": True,
        "user": {"id": principal.id, "username": principal.username, "role": principal.role},
        "session_id": principal.session_id,
        "scopes": sorted(principal.scopes),
        "expires_in": expires_in,
    }


@blueprint.get("/tokens/expiring")
@require_service_token
def expiring_tokens():
    """Live personal access tokens expiring within ``?hours=`` (1 to 720, default 72)."""
    try:
        hours = int(request.args.get("hours", "72"))
    except ValueError:
        hours = 0
    if not 1 <= hours <= 720:
        abort(422, "hours must be 1 to 720.", errors={"hours": ["Give 1 to 720."]})
    now = utcnow()
    tokens = personal_tokens.expiring_between(now, now + timedelta(hours=hours), EXPIRING_AT_MOST)
    return ExpiringTokenListSchema().dump({"items": tokens})


@blueprint.get("/users")
@require_service_token
def users():
    """Contact details of users by ``?ids=1,2`` or ``?usernames=a,b`` (at most 500)."""
    ids = _split(request.args.get("ids", ""))
    names = [n.lower() for n in _split(request.args.get("usernames", ""))]
    if not ids and not names:
        abort(422, "Give ids or usernames.", errors={"ids": ["Required without usernames."]})
    if len(ids) + len(names) > 500:
        abort(422, "At most 500 users at once.", errors={"ids": ["Too many."]})
    try:
        id_values = [int(i) for i in ids]
    except ValueError:
        abort(422, "Ids must be integers.", errors={"ids": ["Not integers."]})
    query = select(User).where(or_(User.id.in_(id_values), User.username.in_(names)))
    return UserListSchema().dump({"items": db.session.scalars(query.order_by(User.id))})


def _split(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]
