"""Versions of a file: upload a new one, list them, download any, restore one as a new
version.

The attachment's own fields (and its download) are its latest version. Who may do what
follows the file: anyone who can see the task lists and downloads versions; members and
up upload and restore. A new version is received like a first upload (every hostile-upload
rule and the project's quota, services/attachment/uploads.py); a restore adds a version
with the bytes, name and type of an earlier one, storing nothing new. Versions are
numbered under a row lock on the attachment, so two at once get 2 and 3, never 2 twice.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from services.attachment.attachments.resources import (
    DOWNLOAD_DOC,
    file_response,
    load,
    record,
)
from services.attachment.attachments.schemas import (
    UploadSchema,
    VersionPageSchema,
    VersionSchema,
)
from services.attachment.blobs import adopt
from services.attachment.extensions import db
from services.attachment.filenames import safe_filename
from services.attachment.models import Attachment, AttachmentVersion, Blob
from services.attachment.uploads import (
    check_quota,
    checked_before_reading,
    keep_upload,
    require_uploader,
    store,
)
from services.common.auth import Principal, current_principal, require_auth
from services.common.errors import abort
from services.common.idempotency import idempotent
from services.common.pagination import PageArgsSchema, paginate, with_link
from services.common.task_access import TaskAccess, task_access

blp = Blueprint("versions", __name__, url_prefix="/api", description="Versions of files")

_schema = VersionSchema()


def _authorize_upload(attachment_id: int) -> None:
    _, access = load(attachment_id, current_principal())
    require_uploader(access)


def _version(attachment_id: int, number: int) -> AttachmentVersion:
    version = db.session.scalar(
        select(AttachmentVersion).where(
            AttachmentVersion.attachment_id == attachment_id, AttachmentVersion.number == number
        )
    )
    if version is None:
        abort(404, "No such version.")
    return version


def _locked(attachment_id: int) -> Attachment:
    """The attachment, its row locked until the commit; 404 when it went meanwhile."""
    attachment = db.session.scalar(
        select(Attachment)
        .where(Attachment.id == attachment_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if attachment is None:
        abort(404, "No such attachment.")
    return attachment


def _add_version(
    attachment: Attachment,
    principal: Principal,
    access: TaskAccess,
    blob: Blob,
    filename: str,
    content_type: str,
    restored_from: int | None = None,
) -> AttachmentVersion:
    """Add the next version (the attachment's row locked) and make it the latest."""
    version = AttachmentVersion(
        attachment_id=attachment.id,
        number=attachment.version + 1,
        filename=filename,
        content_type=content_type,
        size=blob.size,
        sha256=blob.sha256,
        uploaded_by=principal.id,
        restored_from=restored_from,
    )
    db.session.add(version)
    attachment.version = version.number
    attachment.filename = filename
    attachment.content_type = content_type
    attachment.size = blob.size
    attachment.sha256 = blob.sha256
    attachment.storage_key = blob.storage_key
    db.session.flush()
    event = "attachment.version_restored" if restored_from else "attachment.version_uploaded"
    data = {"version": version.number}
    if restored_from:
        data["restored_from"] = restored_from
    record(event, principal, attachment, access, **data)
    return version


def _created(version: AttachmentVersion) -> Response:
    body = _schema.dump(version)
    response = jsonify(body)
    response.status_code = 201
    response.headers["Location"] = url_for(
        "versions.VersionDownload", attachment_id=version.attachment_id, number=version.number
    )
    return response


@blp.route("/attachments/<int:attachment_id>/versions")
class AttachmentVersions(MethodView):
    decorators = [require_auth(scope="attachments")]

    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, VersionPageSchema)
    def get(self, args, attachment_id: int):
        """The file's versions, newest first."""
        load(attachment_id, current_principal())
        query = (
            select(AttachmentVersion)
            .where(AttachmentVersion.attachment_id == attachment_id)
            .order_by(AttachmentVersion.number.desc())
        )
        return with_link(paginate(db.session, query, args["page"], args["per_page"]))

    @checked_before_reading(_authorize_upload)
    @blp.arguments(UploadSchema, location="files")
    @blp.response(201, VersionSchema)
    @blp.alt_response(507, response="INSUFFICIENT_STORAGE")
    def post(self, files: dict[str, Any], attachment_id: int):
        """Upload a new version of the file (members and up); it becomes the latest."""
        principal = current_principal()
        attachment, access = load(attachment_id, principal)
        filename = safe_filename(files["file"].filename)
        stored, content_type = store(files["file"], attachment.project_id)

        def write() -> tuple[AttachmentVersion, bool]:
            fresh = task_access(access.task_id, principal, fresh=True)
            require_uploader(fresh)
            locked = _locked(attachment_id)
            check_quota(locked.project_id, stored)
            blob, duplicate = adopt(stored)
            version = _add_version(locked, principal, fresh, blob, filename, content_type)
            return version, duplicate

        return keep_upload(stored, filename, write, _created)


@blp.route("/attachments/<int:attachment_id>/versions/<int:number>/download")
class VersionDownload(MethodView):
    decorators = [require_auth(scope="attachments")]

    @blp.response(200, **DOWNLOAD_DOC)
    @blp.alt_response(304, description="Not modified (the ETag matches If-None-Match)")
    def get(self, attachment_id: int, number: int):
        """Download one version of a file (streamed, as an attachment)."""
        load(attachment_id, current_principal())
        version = _version(attachment_id, number)
        blob = db.session.get(Blob, version.sha256)
        return file_response(
            version.filename, version.content_type, version.size, version.sha256, blob.storage_key
        )


@blp.route("/attachments/<int:attachment_id>/versions/<int:number>/restore")
class VersionRestore(MethodView):
    decorators = [require_auth(scope="attachments")]

    @idempotent
    @blp.response(201, VersionSchema)
    def post(self, attachment_id: int, number: int):
        """Restore a version (members and up): a new latest version with its bytes."""
        principal = current_principal()
        _, access = load(attachment_id, principal)
        require_uploader(access)
        attachment = _locked(attachment_id)
        source = _version(attachment_id, number)
        # Bytes a version of the project holds cost no quota; the blob stays while
        # ``source`` refers to it, and ``source`` cannot go while the row is locked.
        blob = db.session.get(Blob, source.sha256)
        version = _add_version(
            attachment,
            principal,
            access,
            blob,
            source.filename,
            source.content_type,
            restored_from=source.number,
        )
        db.session.commit()
        return _created(version)
