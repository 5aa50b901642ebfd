"""Your login sessions: list them, and sign one out (``/api/users/me/sessions``).

A session is live from its login until it is revoked or its refresh token runs out
(``REFRESH_TOKEN_TTL_SECONDS`` after its last refresh). Revoking one kills its refresh
token and its access tokens everywhere within 2 s. Needs a login session: a personal
access token cannot see or end sessions.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import func, select

from services.common.auth import current_principal, require_auth
from services.common.concurrency import check_if_match, etag_of
from services.common.db import utcnow
from services.common.errors import abort
from services.common.events import record_event
from services.common.pagination import paginate, with_link
from services.common.scopes import SESSION
from services.user import tokens
from services.user.extensions import db
from services.user.models import LoginSession
from services.user.sessions.schemas import SessionArgsSchema, SessionPageSchema, SessionSchema

blp = Blueprint("sessions", __name__, url_prefix="/api/users/me/sessions", description="Sessions")

_session_schema = SessionSchema()
_FIELDS = ("id", "user_agent", "ip_address", "signed_in_with", "created_at", "last_used_at")


def _live(user_id: int):
    ttl = timedelta(seconds=current_app.config["JWT_REFRESH_TOKEN_EXPIRES"])
    return select(LoginSession).where(
        LoginSession.user_id == user_id,
        LoginSession.revoked_at.is_(None),
        func.coalesce(LoginSession.refreshed_at, LoginSession.created_at) > utcnow() - ttl,
    )


def _shown(session: LoginSession) -> dict:
    current = session.id == current_principal().session_id
    return {**{f: getattr(session, f) for f in _FIELDS}, "current": current}


def _my_session(session_id: uuid.UUID) -> LoginSession:
    session = db.session.scalar(
        _live(current_principal().id).where(LoginSession.id == str(session_id))
    )
    if session is None:
        abort(404, "No such session.")
    return session


@blp.route("")
class Sessions(MethodView):
    decorators = [require_auth(scope=SESSION)]

    @blp.arguments(SessionArgsSchema, location="query")
    @blp.response(200, SessionPageSchema)
    def get(self, args):
        """Your live login sessions, the most recently used first."""
        query = _live(current_principal().id).order_by(
            LoginSession.last_used_at.desc().nulls_last(), LoginSession.created_at.desc()
        )
        page = paginate(db.session, query, args["page"], args["per_page"])
        page["items"] = [_shown(session) for session in page["items"]]
        return with_link(page)


@blp.route("/<uuid:session_id>")
class SessionById(MethodView):
    decorators = [require_auth(scope=SESSION)]

    @blp.response(200, SessionSchema)
    def get(self, session_id: uuid.UUID):
        """One of your live sessions."""
        shown = _shown(_my_session(session_id))
        return shown, 200, {"ETag": etag_of(_session_schema.dump(shown))}

    @blp.response(204)
    def delete(self, session_id: uuid.UUID):
        """Sign a session out: its refresh and access tokens stop working within 2 s."""
        principal = current_principal()
        session = _my_session(session_id)
        check_if_match(_session_schema.dump(_shown(session)))
        tokens.revoke_sessions(principal.id, "revoked", only_session=session.id)
        record_event(
            "user.session_revoked",
            actor=principal,
            entity=("user", principal.id),
            data={"session_id": session.id},
        )
        db.session.commit()
        tokens.announce_revocation(principal.id)
