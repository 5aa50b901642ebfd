"""Receiving a file, for a first upload and for a new version alike: checked before
Werkzeug reads the body (access, body type, Idempotency-Key), streamed to storage while
it is hashed and measured (never past the size limit or the room the project's quota
leaves), its type sniffed from the stored bytes and checked against the deny/allow
lists. Whatever refuses it removes the stored file again, so nothing refused stays on
disk; a full volume is a 507 ``insufficient_storage`` with no partial file.

Quota: a project's usage is every distinct content its versions hold, counted once
(:func:`services.attachment.blobs.project_usage`). An upload is refused with 413
``quota_exceeded`` (the problem body carries ``usage`` and ``quota`` in bytes) before
anything is stored when the project is full or the request is larger than the room
left, while streaming as soon as it passes that room, and once more under the project's
lock right before the row is written (two uploads cannot share the same room).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import wraps
from typing import Any, NoReturn

from flask import Response, current_app, request
from werkzeug.datastructures import FileStorage

from services.attachment.blobs import lock_project, project_holds, project_usage
from services.attachment.config import MULTIPART_OVERHEAD
from services.attachment.extensions import db
from services.attachment.sniffing import HEAD_BYTES, sniff
from services.attachment.storage import StoredFile, UploadTooLarge, storage
from services.common import idempotency
from services.common.errors import abort
from services.common.task_access import TaskAccess

MULTIPART = "multipart/form-data"


def require_uploader(access: TaskAccess) -> None:
    if not access.has_role("member"):
        abort(403, "You need the member role in this project to upload files.")


def checked_before_reading(authorize: Callable[..., Any]):
    """Refuse an upload for its caller (``authorize`` gets the view's arguments), body
    type or Idempotency-Key before Werkzeug reads (and spools) its body."""

    def decorator(view):
        @wraps(view)
        def wrapper(self, *args: Any, **kwargs: Any):
            authorize(**kwargs)
            if request.mimetype != MULTIPART:
                abort(
                    415,
                    "Upload the file as multipart/form-data in the field 'file'.",
                    code="unsupported_media_type",
                )
            idempotency.requested_key()
            return view(self, *args, **kwargs)

        return wrapper

    return decorator


def fingerprint(filename: str, sha256: str) -> str:
    """What makes two uploads the same request: their path, file name and content hash
    (the common fingerprint reads the whole body, which an upload streams to storage)."""
    raw = "\n".join((request.method, request.path, filename, sha256))
    return hashlib.sha256(raw.encode()).hexdigest()


def keep_upload(
    stored: StoredFile,
    filename: str,
    write: Callable[[], tuple[Any, bool]],
    respond: Callable[[Any], Response],
) -> Response:
    """The end of every upload, once its bytes are stored: the ``Idempotency-Key``
    claimed (a replay answers the first response), ``write()`` adds the rows and returns
    (what it made, whether the bytes were held already), commit. Whatever fails removes
    the stored copy and releases the key; a duplicate's copy goes after the commit. The
    response (``respond(made)``) is remembered for a replay."""
    key = idempotency.requested_key()
    record_id = None
    try:
        if key is not None:
            claimed = idempotency.claim(key, fingerprint(filename, stored.sha256))
            if isinstance(claimed, Response):
                storage().delete(stored.key)
                return claimed
            record_id = claimed
        made, duplicate = write()
        db.session.commit()
    except BaseException:
        db.session.rollback()
        storage().delete(stored.key)
        if record_id is not None:
            idempotency.release(record_id)
        raise
    if duplicate:
        # The bytes were stored already: this copy is not needed.
        storage().delete(stored.key)
    response = respond(made)
    if record_id is not None:
        idempotency.remember(record_id, response)
    return response


def refuse_over_quota(usage: int, quota: int) -> NoReturn:
    abort(
        413,
        f"This file would take the project past its storage quota ({quota} bytes; {usage} used).",
        code="quota_exceeded",
        usage=usage,
        quota=quota,
    )


def room_left(project_id: int) -> int:
    """Bytes the project may still store; 413 ``quota_exceeded`` when it is full or the
    request is plainly larger than that (nothing is read or stored then)."""
    quota = current_app.config["PROJECT_STORAGE_QUOTA_BYTES"]
    usage = project_usage(project_id)
    room = quota - usage
    # Ends the read: no transaction stays open while the body streams.
    db.session.commit()
    length = request.content_length
    if room <= 0 or (length is not None and length - MULTIPART_OVERHEAD > room):
        refuse_over_quota(usage, quota)
    return room


def check_quota(project_id: int, stored: StoredFile) -> None:
    """Under the project's lock (held until the commit): 413 ``quota_exceeded`` when
    ``stored``'s bytes are new to the project and do not fit."""
    lock_project(project_id)
    if project_holds(project_id, stored.sha256):
        return
    quota = current_app.config["PROJECT_STORAGE_QUOTA_BYTES"]
    usage = project_usage(project_id)
    if usage + stored.size > quota:
        refuse_over_quota(usage, quota)


def _check_type(content_type: str) -> None:
    config = current_app.config
    allowed = config["ATTACHMENT_ALLOW_TYPES"]
    if content_type in config["ATTACHMENT_DENY_TYPES"] or (allowed and content_type not in allowed):
        message = f"Files of type {content_type} are not accepted."
        abort(415, message, code="unsupported_media_type", errors={"file": [message]})


def store(upload: FileStorage, project_id: int) -> tuple[StoredFile, str]:
    """Stream the upload to storage; its detected type. Refused files are not kept."""
    config = current_app.config
    room = room_left(project_id)
    limit = min(config["MAX_UPLOAD_BYTES"], room)
    try:
        stored = storage().save(upload.stream, limit)
    except UploadTooLarge:
        if limit < config["MAX_UPLOAD_BYTES"]:
            quota = config["PROJECT_STORAGE_QUOTA_BYTES"]
            refuse_over_quota(quota - room, quota)
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
