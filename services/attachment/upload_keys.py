"""``Idempotency-Key`` for uploads (SPEC §2).

The common ``idempotent`` decorator fingerprints the raw request body, which would hold
a whole upload in memory. An upload is fingerprinted after it was streamed to storage
instead: by its path, file name and SHA-256. The rules are the same: the same key from
the same caller with the same file within 24 h replays the first response (with
``Idempotent-Replayed: true``); with another file it is 422 ``idempotency_key_reused``;
while the first request still runs, 409.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from flask import Response, request
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from services.attachment.extensions import db
from services.attachment.models import IdempotencyRecord
from services.common.auth import current_principal
from services.common.db import utcnow
from services.common.errors import abort

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
WINDOW = timedelta(hours=24)
_KEPT_HEADERS = ("Location", "ETag", "Content-Type")


def idempotency_key() -> str | None:
    """The request's key, checked for length (422 before anything is read)."""
    key = request.headers.get(HEADER)
    if key is not None and not 1 <= len(key) <= 255:
        abort(
            422,
            "Idempotency-Key must be 1 to 255 characters.",
            errors={HEADER: ["Must be 1 to 255 characters."]},
        )
    return key


def fingerprint(filename: str, sha256: str) -> str:
    """What makes two uploads the same request."""
    raw = "\n".join((request.method, request.path, filename, sha256))
    return hashlib.sha256(raw.encode()).hexdigest()


def claim(key: str, fingerprint_: str) -> Response | int:
    """The first response to replay, or the id of a new record this request now holds."""
    scope = f"user:{current_principal().id}"
    record = db.session.scalar(select(IdempotencyRecord).filter_by(scope=scope, key=key))
    if record is not None and record.created_at < utcnow() - WINDOW:
        db.session.delete(record)
        db.session.commit()
        record = None
    if record is not None:
        if record.fingerprint != fingerprint_:
            abort(
                422,
                "This Idempotency-Key was already used with a different request.",
                code="idempotency_key_reused",
            )
        if record.status is None:
            abort(409, "A request with this Idempotency-Key is in progress.", code="conflict")
        response = Response(record.body, status=record.status, headers=record.headers or {})
        response.headers[REPLAYED_HEADER] = "true"
        return response
    record = IdempotencyRecord(scope=scope, key=key, fingerprint=fingerprint_)
    db.session.add(record)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        abort(409, "A request with this Idempotency-Key is in progress.", code="conflict")
    return record.id


def remember(record_id: int, response: Response) -> None:
    """Keep the response of a successful create for replays."""
    record = db.session.get(IdempotencyRecord, record_id)
    record.status = response.status_code
    record.body = response.get_data(as_text=True)
    record.headers = {h: response.headers[h] for h in _KEPT_HEADERS if h in response.headers}
    db.session.commit()


def release(record_id: int) -> None:
    """Give the key back after the create failed."""
    db.session.rollback()
    db.session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id == record_id))
    db.session.commit()
