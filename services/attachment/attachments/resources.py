"""Attachments: a task's files, one file's metadata, its download, and its removal
(SPEC §5).

Anyone who can see the task lists and downloads its files; members and up upload;
uploaders, project admins and owners, and global admins delete. Global admins who are
no members of the project list, download and delete, but do not upload.

An upload is checked (access, body type, Idempotency-Key) before Werkzeug reads the
body, streamed to storage while it is hashed and measured, and its type sniffed from the
stored bytes. Access is asked again, past the cache, right before the row is written.
Whatever refuses it afterwards (too large, empty, a denied type, the task gone, a failed
transaction) removes the stored file again, so nothing refused stays on disk; a full
volume is a 507 ``insufficient_storage`` with no partial file (SPEC §11 R9).
"""

from __future__ import annotations

import hashlib
from functools import wraps
from typing import Any

from flask import Response, current_app, jsonify, request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.wsgi import wrap_file

from services.attachment.attachments.schemas import (
    AttachmentPageSchema,
    AttachmentSchema,
    UploadSchema,
)
from services.attachment.extensions import db
from services.attachment.filenames import content_disposition, safe_filename
from services.attachment.models import Attachment
from services.attachment.sniffing import HEAD_BYTES, sniff
from services.attachment.storage import StoredFile, UploadTooLarge, storage
from services.common import idempotency
from services.common.auth import Principal, current_principal, require_auth
from services.common.concurrency import check_if_match, etag_of
from services.common.errors import abort
from services.common.events import record_event
from services.common.pagination import PageArgsSchema, paginate, with_link
from services.common.task_access import TaskAccess, item_access, task_access

blp = Blueprint("attachments", __name__, url_prefix="/api", description="Files attached to tasks")

MULTIPART = "multipart/form-data"
STREAM_BUFFER = 64 * 1024
_schema = AttachmentSchema()


def _with_etag(attachment: Attachment, status: int = 200, **headers: str):
    return attachment, status, {"ETag": etag_of(_schema.dump(attachment)), **headers}


def _record(event_type: str, principal: Principal, attachment: Attachment, access: TaskAccess):
    summary = {
        "id": attachment.id,
        "task_id": attachment.task_id,
        "filename": attachment.filename,
        "size": attachment.size,
        "content_type": attachment.content_type,
    }
    record_event(
        event_type,
        actor=principal,
        entity=("attachment", attachment.id),
        project_id=attachment.project_id,
        data={"attachment": summary, "task": access.task_summary()},
    )


def _require_uploader(access: TaskAccess) -> None:
    if not access.has_role("member"):
        abort(403, "You need the member role in this project to upload files.")


def _load(attachment_id: int, principal: Principal) -> tuple[Attachment, TaskAccess]:
    """The attachment and the caller's access to its task; 404 if they cannot see it."""
    attachment = db.session.get(Attachment, attachment_id)
    task_id = attachment.task_id if attachment is not None else None
    return attachment, item_access("attachment", attachment_id, task_id, principal)


def _upload_fingerprint(filename: str, sha256: str) -> str:
    """What makes two uploads the same request: their path, file name and content hash
    (the common fingerprint reads the whole body, which an upload streams to storage)."""
    raw = "\n".join((request.method, request.path, filename, sha256))
    return hashlib.sha256(raw.encode()).hexdigest()


def checked_before_reading(view):
    """Refuse an upload for its caller, body type or Idempotency-Key before Werkzeug
    reads (and spools) its body."""

    @wraps(view)
    def wrapper(self, task_id: int):
        _require_uploader(task_access(task_id, current_principal()))
        if request.mimetype != MULTIPART:
            abort(
                415,
                "Upload the file as multipart/form-data in the field 'file'.",
                code="unsupported_media_type",
            )
        idempotency.requested_key()
        return view(self, task_id=task_id)

    return wrapper


def _check_type(content_type: str) -> None:
    config = current_app.config
    allowed = config["ATTACHMENT_ALLOW_TYPES"]
    if content_type in config["ATTACHMENT_DENY_TYPES"] or (allowed and content_type not in allowed):
        message = f"Files of type {content_type} are not accepted."
        abort(415, message, code="unsupported_media_type", errors={"file": [message]})


def _store(upload: FileStorage) -> tuple[StoredFile, str]:
    """Stream the upload to storage; its detected type. Refused files are not kept."""
    config = current_app.config
    try:
        stored = storage().save(upload.stream, config["MAX_UPLOAD_BYTES"])
    except UploadTooLarge:
        abort(
            413,
            f"The file is larger than {config['MAX_UPLOAD_MB']} MB.",
            code="payload_too_large",
        )
    try:
        if stored.size == 0:
            abort(422, "The file is empty.", errors={"file": ["The file is empty."]})
        with storage().open(stored.key) as stream:
            head = stream.read(HEAD_BYTES)
        content_type = sniff(head, complete=stored.size <= len(head))
        _check_type(content_type)
    except BaseException:
        storage().delete(stored.key)
        raise
    return stored, content_type


@blp.route("/tasks/<int:task_id>/attachments")
class TaskAttachments(MethodView):
    decorators = [require_auth(scope="attachments")]

    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, AttachmentPageSchema)
    def get(self, args, task_id: int):
        """The task's files, oldest first."""
        task_access(task_id, current_principal())
        query = (
            select(Attachment)
            .where(Attachment.task_id == task_id)
            .order_by(Attachment.created_at, Attachment.id)
        )
        page = paginate(db.session, query, args["page"], args["per_page"])
        return with_link(page)

    @checked_before_reading
    @blp.arguments(UploadSchema, location="files")
    @blp.response(201, AttachmentSchema)
    @blp.alt_response(507, response="INSUFFICIENT_STORAGE")
    def post(self, files: dict[str, Any], task_id: int):
        """Upload a file to the task (members and up); its type is detected from content."""
        principal = current_principal()
        access = task_access(task_id, principal)
        assert access.project_id is not None
        filename = safe_filename(files["file"].filename)
        stored, content_type = _store(files["file"])
        key = idempotency.requested_key()
        record_id = None
        try:
            if key is not None:
                claimed = idempotency.claim(key, _upload_fingerprint(filename, stored.sha256))
                if isinstance(claimed, Response):
                    storage().delete(stored.key)
                    return claimed
                record_id = claimed
            # The body may have streamed for minutes after the first check: ask again,
            # uncached, so no file is kept for a task deleted (or left) meanwhile.
            access = task_access(task_id, principal, fresh=True)
            _require_uploader(access)
            attachment = Attachment(
                task_id=task_id,
                project_id=access.project_id,
                filename=filename,
                content_type=content_type,
                size=stored.size,
                sha256=stored.sha256,
                storage_key=stored.key,
                uploaded_by=principal.id,
            )
            db.session.add(attachment)
            db.session.flush()
            _record("attachment.uploaded", principal, attachment, access)
            db.session.commit()
        except BaseException:
            db.session.rollback()
            storage().delete(stored.key)
            if record_id is not None:
                idempotency.release(record_id)
            raise
        body = _schema.dump(attachment)
        response = jsonify(body)
        response.status_code = 201
        response.headers["Location"] = url_for(
            "attachments.AttachmentById", attachment_id=attachment.id
        )
        response.headers["ETag"] = etag_of(body)
        if record_id is not None:
            idempotency.remember(record_id, response)
        return response


@blp.route("/attachments/<int:attachment_id>")
class AttachmentById(MethodView):
    decorators = [require_auth(scope="attachments")]

    @blp.response(200, AttachmentSchema)
    def get(self, attachment_id: int):
        """One file's metadata."""
        attachment, _ = _load(attachment_id, current_principal())
        return _with_etag(attachment)

    @blp.response(204)
    def delete(self, attachment_id: int):
        """Delete a file (its uploader, project admins and owners, global admins)."""
        principal = current_principal()
        attachment, access = _load(attachment_id, principal)
        moderator = access.global_admin or access.has_role("admin")
        if attachment.uploaded_by != principal.id and not moderator:
            abort(403, "Only the uploader or a project admin can delete this file.")
        check_if_match(_schema.dump(attachment))
        _record("attachment.deleted", principal, attachment, access)
        db.session.delete(attachment)
        db.session.commit()
        # Only once the row is gone: a failed commit must not leave a row without its file.
        storage().delete(attachment.storage_key)


@blp.route("/attachments/<int:attachment_id>/download")
class AttachmentDownload(MethodView):
    decorators = [require_auth(scope="attachments")]

    @blp.response(
        200,
        {"type": "string", "format": "binary"},
        content_type="*/*",
        description="The file as uploaded, with its detected type",
    )
    @blp.alt_response(304, description="Not modified (the ETag matches If-None-Match)")
    def get(self, attachment_id: int):
        """Download a file (streamed, as an attachment, never rendered inline)."""
        attachment, _ = _load(attachment_id, current_principal())
        etag = f'"{attachment.sha256}"'
        headers = {
            "Content-Disposition": content_disposition(attachment.filename),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, no-cache",
            "ETag": etag,
        }
        if attachment.sha256 in request.if_none_match:
            return Response(status=304, headers=headers)
        try:
            stream = storage().open(attachment.storage_key)
        except FileNotFoundError:
            current_app.logger.error(
                "file of attachment %s (%s) is missing", attachment.id, attachment.storage_key
            )
            abort(404, "The file of this attachment is missing.")
        content_type = attachment.content_type
        if content_type.startswith("text/") or content_type == "application/json":
            content_type += "; charset=utf-8"
        response = Response(
            wrap_file(request.environ, stream, STREAM_BUFFER),
            content_type=content_type,
            headers=headers,
            direct_passthrough=True,
        )
        response.content_length = attachment.size
        return response
