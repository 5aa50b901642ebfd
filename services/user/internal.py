"""Endpoints for other services only (``X-Service-Token``; nginx never routes them)."""

from __future__ import annotations

from flask import Blueprint, request
from sqlalchemy import or_, select

from services.common.auth import InvalidToken
from services.common.contracts import UserListSchema
from services.common.errors import abort
from services.common.http import require_service_token
from services.user.extensions import db
from services.user.models import User
from services.user.tokens import verify_access_token

blueprint = Blueprint("internal", __name__, url_prefix="/internal")


@blueprint.post("/auth/verify")
@require_service_token
def verify():
    """Check an access token: who it belongs to, or 401 with the reason."""
    body = request.get_json(silent=True)
    token = body.get("token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token:
        abort(422, "Give the token to verify.", errors={"token": ["Required."]})
    try:
        principal, expires_in = verify_access_token(token)
    except InvalidToken as exc:
        abort(401, exc.detail, code=exc.code)
    return {
        "active": True,
        "user": {"id": principal.id, "username": principal.username, "role": principal.role},
        "session_id": principal.session_id,
        "expires_in": expires_in,
    }


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
