"""Share links: a URL that downloads a file's latest version without an account until it
expires or is revoked.

Members who may edit the task make, list and revoke its files' links (global admins who
are no members list and revoke them, as they moderate files). A link's token is random
(256 bits), shown once when it is made and kept only as its SHA-256, so a replay of the
create (``Idempotency-Key``) answers the same link without its token. ``expires_in`` is
bounded by ``SHARE_LINK_MIN_EXPIRY_SECONDS`` and ``SHARE_LINK_MAX_EXPIRY_SECONDS``.

``GET /api/files/shared/<token>`` sends the file with the same safe headers as a normal
download and nothing else; a token unknown, guessed, truncated, expired or revoked is
the same 404. A link dies with its file (its row goes with the attachment's, also when a
task or project deletion removes the files) and, checked at every download, as soon as
its maker can no longer see the task (the task or project deleted, the maker removed).
Downloads are rate limited per link (``SHARE_LINK_RATE_LIMIT``).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import Response, current_app, jsonify, request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import delete, select

from services.attachment.attachments.resources import DOWNLOAD_DOC, file_response, load, record
from services.attachment.attachments.schemas import (
    CreatedLinkSchema,
    LinkCreateSchema,
    LinkPageSchema,
)
from services.attachment.extensions import db, limiter
from services.attachment.models import Attachment, ShareLink
from services.common import idempotency
from services.common.auth import current_principal, require_auth
from services.common.db import utcnow
from services.common.errors import abort
from services.common.pagination import PageArgsSchema, paginate, with_link
from services.common.ratelimit import keyed_limit
from services.common.task_access import TaskAccess, access_answer

blp = Blueprint("links", __name__, url_prefix="/api", description="Share links of files")

TOKEN_BYTES = 32
_created_schema = CreatedLinkSchema()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _require_editor(access: TaskAccess, moderating: bool = False) -> None:
    if access.has_role("member") or (moderating and access.global_admin):
        return
    abort(403, "You need the member role in this project to share files.")


def _link_key() -> str:
    return "link:" + token_hash((request.view_args or {}).get("token", ""))[:32]


def _expired(link: ShareLink) -> bool:
    return link.expires_at <= utcnow()


def _fields(link: ShareLink) -> dict:
    return {
        "id": link.id,
        "attachment_id": link.attachment_id,
        "created_by": link.created_by,
        "created_at": link.created_at,
        "expires_at": link.expires_at,
        "expired": _expired(link),
    }


def _event_data(link: ShareLink) -> dict:
    """What an event says of a link: never its token, nor its hash."""
    return {"id": link.id, "expires_at": link.expires_at.isoformat()}


def _check_expiry(expires_in: int) -> None:
    config = current_app.config
    low, high = config["SHARE_LINK_MIN_EXPIRY_SECONDS"], config["SHARE_LINK_MAX_EXPIRY_SECONDS"]
    if not low <= expires_in <= high:
        message = f"Between {low} and {high} seconds."
        abort(422, f"expires_in: {message}", errors={"expires_in": [message]})


@blp.route("/attachments/<int:attachment_id>/links")
class AttachmentLinks(MethodView):
    decorators = [require_auth(scope="attachments")]

    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, LinkPageSchema)
    def get(self, args, attachment_id: int):
        """The file's share links (expired ones too, until revoked), newest first."""
        _, access = load(attachment_id, current_principal())
        _require_editor(access, moderating=True)
        query = (
            select(ShareLink)
            .where(ShareLink.attachment_id == attachment_id)
            .order_by(ShareLink.id.desc())
        )
        page = paginate(db.session, query, args["page"], args["per_page"])
        page["items"] = [_fields(link) for link in page["items"]]
        return with_link(page)

    @blp.arguments(LinkCreateSchema)
    @blp.response(201, CreatedLinkSchema)
    def post(self, data, attachment_id: int):
        """Share the file by a link that needs no account (members and up); the token is
        shown only now."""
        principal = current_principal()
        attachment, access = load(attachment_id, principal)
        _require_editor(access)
        _check_expiry(data["expires_in"])
        key = idempotency.requested_key()
        record_id = None
        if key is not None:
            claimed = idempotency.claim(key, idempotency.body_fingerprint())
            if isinstance(claimed, Response):
                return claimed
            record_id = claimed
        try:
            token = secrets.token_urlsafe(TOKEN_BYTES)
            link = ShareLink(
                attachment_id=attachment.id,
                token_hash=token_hash(token),
                created_by=principal.id,
                created_at=utcnow(),
                expires_at=utcnow() + timedelta(seconds=data["expires_in"]),
            )
            db.session.add(link)
            db.session.flush()
            record("attachment.link_created", principal, attachment, access, link=_event_data(link))
            db.session.commit()
        except BaseException:
            db.session.rollback()
            if record_id is not None:
                idempotency.release(record_id)
            raise
        url = url_for("links.SharedFile", token=token)
        location = url_for("links.AttachmentLinks", attachment_id=attachment.id)
        body = _created_schema.dump({**_fields(link), "token": token, "url": url})
        response = jsonify(body)
        response.status_code = 201
        response.headers["Location"] = location
        if record_id is not None:
            # Only the token's hash is kept: a replay answers the link without it.
            kept = jsonify(_created_schema.dump(_fields(link)))
            kept.status_code = 201
            kept.headers["Location"] = location
            idempotency.remember(record_id, kept)
        return response


@blp.route("/attachments/<int:attachment_id>/links/<int:link_id>")
class AttachmentLinkById(MethodView):
    decorators = [require_auth(scope="attachments")]

    @blp.response(204)
    def delete(self, attachment_id: int, link_id: int):
        """Revoke a share link (members and up, global admins); it stops working at once."""
        principal = current_principal()
        attachment, access = load(attachment_id, principal)
        _require_editor(access, moderating=True)
        link = db.session.scalar(
            select(ShareLink).where(
                ShareLink.id == link_id, ShareLink.attachment_id == attachment_id
            )
        )
        if link is None:
            abort(404, "No such link.")
        record("attachment.link_revoked", principal, attachment, access, link=_event_data(link))
        db.session.execute(delete(ShareLink).where(ShareLink.id == link.id))
        db.session.commit()


@blp.route("/files/shared/<token>")
class SharedFile(MethodView):
    NOT_FOUND = "No such shared file, or its link expired or was revoked."

    @blp.doc(security=[])
    @blp.response(200, **DOWNLOAD_DOC)
    @blp.alt_response(304, description="Not modified (the ETag matches If-None-Match)")
    @keyed_limit(limiter, "SHARE_LINK_RATE_LIMIT", _link_key)
    def get(self, token: str):
        """Download a shared file without an account (its latest version)."""
        found = db.session.execute(
            select(ShareLink, Attachment)
            .join(Attachment, Attachment.id == ShareLink.attachment_id)
            .where(ShareLink.token_hash == token_hash(token))
        ).first()
        if found is None or _expired(found[0]):
            abort(404, self.NOT_FOUND)
        link, attachment = found
        # The task and project may be gone before their deletion events arrived, or the
        # maker may have left the project: then the link is dead too.
        if access_answer(attachment.task_id, link.created_by) is None:
            abort(404, self.NOT_FOUND)
        return file_response(
            attachment.filename,
            attachment.content_type,
            attachment.size,
            attachment.sha256,
            attachment.storage_key,
        )
