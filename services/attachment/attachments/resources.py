"""Attachments: a task's files, one file's metadata, its download, and its removal.

Anyone who can see the task lists and downloads its files; members and up upload;
uploaders, project admins and owners, and global admins delete. Global admins who are
no members of the project list, download and delete, but do not upload.

An upload is received as services/attachment/uploads.py describes (hostile-upload rules,
the project's quota). Access is asked again, past the cache, right before the row is
written. Whatever refuses it afterwards (the task gone, the quota used up meanwhile, a
failed transaction) removes the stored file again, so nothing refused stays on disk. A
new file is its attachment's version 1 (versions/resources.py adds more); its bytes
become a blob or refer to the blob that already holds them (services/attachment/blobs.py).
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, jsonify, request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select
from werkzeug.wsgi import wrap_file

from services.attachment.attachments.schemas import (
    AttachmentPageSchema,
    AttachmentSchema,
    UploadSchema,
)
from services.attachment.blobs import adopt, remove_attachments
from services.attachment.extensions import db
from services.attachment.filenames import content_disposition, safe_filename
from services.attachment.models import Attachment, AttachmentVersion
from services.attachment.storage import storage
from services.attachment.uploads import (
    check_quota,
    checked_before_reading,
    keep_upload,
    require_uploader,
    store,
)
from services.common.auth import Principal, current_principal, require_auth
from services.common.concurrency import check_if_match, etag_of
from services.common.errors import abort
from services.common.events import record_event
from services.common.pagination import PageArgsSchema, paginate, with_link
from services.common.task_access import TaskAccess, item_access, task_access

blp = Blueprint("attachments", __name__, url_prefix="/api", description="Files attached to tasks")

STREAM_BUFFER = 64 * 1024
_schema = AttachmentSchema()


def _with_etag(attachment: Attachment, status: int = 200, **headers: str):
    return attachment, status, {"ETag": etag_of(_schema.dump(attachment)), **headers}


def record(
    event_type: str, principal: Principal, attachment: Attachment, access: TaskAccess, **data
):
    """Record an event about ``attachment`` (with ``data`` beside its summary and the task's)."""
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
        data={"attachment": summary, "task": access.task_summary(), **data},
    )


def load(attachment_id: int, principal: Principal) -> tuple[Attachment, TaskAccess]:
    """The attachment and the caller's access to its task; 404 if they cannot see it."""
    attachment = db.session.get(Attachment, attachment_id)
    task_id = attachment.task_id if attachment is not None else None
    return attachment, item_access("attachment", attachment_id, task_id, principal)


def _authorize_upload(task_id: int) -> None:
    require_uploader(task_access(task_id, current_principal()))


def file_response(filename: str, content_type: str, size: int, sha256: str, storage_key: str):
    """Stream stored bytes as a download: as an attachment, never rendered inline,
    never sniffed; 304 when ``If-None-Match`` holds their hash."""
    headers = {
        "Content-Disposition": content_disposition(filename),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, no-cache",
        "ETag": f'"{sha256}"',
    }
    if sha256 in request.if_none_match:
        return Response(status=304, headers=headers)
    try:
        stream = storage().open(storage_key)
    except FileNotFoundError:
        current_app.logger.error("stored file %s (%s) is missing", storage_key, sha256)
        abort(404, "The stored file is missing.")
    if content_type.startswith("text/") or content_type == "application/json":
        content_type += "; charset=utf-8"
    response = Response(
        wrap_file(request.environ, stream, STREAM_BUFFER),
        content_type=content_type,
        headers=headers,
        direct_passthrough=True,
    )
    response.content_length = size
    return response


DOWNLOAD_DOC = {
    "schema": {"type": "string", "format": "binary"},
    "content_type": "*/*",
    "description": "The file as uploaded, with its detected type",
}


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

    @checked_before_reading(_authorize_upload)
    @blp.arguments(UploadSchema, location="files")
    @blp.response(201, AttachmentSchema)
    @blp.alt_response(507, response="INSUFFICIENT_STORAGE")
    def post(self, files: dict[str, Any], task_id: int):
        """Upload a file to the task (members and up); its type is detected from content."""
        principal = current_principal()
        access = task_access(task_id, principal)
        assert access.project_id is not None
        filename = safe_filename(files["file"].filename)
        stored, content_type = store(files["file"], access.project_id)

        def write() -> tuple[Attachment, bool]:
            # The body may have streamed for minutes after the first check: ask again,
            # uncached, so no file is kept for a task deleted (or left) meanwhile.
            fresh = task_access(task_id, principal, fresh=True)
            require_uploader(fresh)
            check_quota(fresh.project_id, stored)
            blob, duplicate = adopt(stored)
            attachment = Attachment(
                task_id=task_id,
                project_id=fresh.project_id,
                filename=filename,
                content_type=content_type,
                size=stored.size,
                sha256=stored.sha256,
                storage_key=blob.storage_key,
                uploaded_by=principal.id,
                version=1,
            )
            db.session.add(attachment)
            db.session.flush()
            db.session.add(
                AttachmentVersion(
                    attachment_id=attachment.id,
                    number=1,
                    filename=filename,
                    content_type=content_type,
                    size=stored.size,
                    sha256=stored.sha256,
                    uploaded_by=principal.id,
                )
            )
            record("attachment.uploaded", principal, attachment, fresh)
            return attachment, duplicate

        return keep_upload(stored, filename, write, _created)


def _created(attachment: Attachment) -> Response:
    body = _schema.dump(attachment)
    response = jsonify(body)
    response.status_code = 201
    response.headers["Location"] = url_for(
        "attachments.AttachmentById", attachment_id=attachment.id
    )
    response.headers["ETag"] = etag_of(body)
    return response


@blp.route("/attachments/<int:attachment_id>")
class AttachmentById(MethodView):
    decorators = [require_auth(scope="attachments")]

    @blp.response(200, AttachmentSchema)
    def get(self, attachment_id: int):
        """One file's metadata."""
        attachment, _ = load(attachment_id, current_principal())
        return _with_etag(attachment)

    @blp.response(204)
    def delete(self, attachment_id: int):
        """Delete a file (its uploader, project admins and owners, global admins)."""
        principal = current_principal()
        attachment, access = load(attachment_id, principal)
        moderator = access.global_admin or access.has_role("admin")
        if attachment.uploaded_by != principal.id and not moderator:
            abort(403, "Only the uploader or a project admin can delete this file.")
        check_if_match(_schema.dump(attachment))
        record("attachment.deleted", principal, attachment, access)
        keys = remove_attachments(Attachment.id == attachment.id)
        db.session.commit()
        # Only once the rows are gone: a failed commit must not leave a row without its file.
        for key in keys:
            storage().delete(key)


@blp.route("/attachments/<int:attachment_id>/download")
class AttachmentDownload(MethodView):
    decorators = [require_auth(scope="attachments")]

    @blp.response(200, **DOWNLOAD_DOC)
    @blp.alt_response(304, description="Not modified (the ETag matches If-None-Match)")
    def get(self, attachment_id: int):
        """Download a file's latest version (streamed, as an attachment, never rendered inline)."""
        attachment, _ = load(attachment_id, current_principal())
        return file_response(
            attachment.filename,
            attachment.content_type,
            attachment.size,
            attachment.sha256,
            attachment.storage_key,
        )
