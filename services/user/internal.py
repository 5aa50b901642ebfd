"""Endpoints for other services only (``X-Service-Token``; nginx never routes them)."""

from __future__ import annotations

from flask import Blueprint, request

from services.common.auth import InvalidToken
from services.common.errors import abort
from services.common.http import require_service_token
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
