"""``Idempotency-Key`` support for creates (SPEC §2).

The same key from the same caller with the same body within 24 h replays the first
response with ``Idempotent-Replayed: true``; the same key with another body is 422
``idempotency_key_reused``; a concurrent request still holding the key gets 409.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any

from flask import Flask, Response, current_app, g, request
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from services.common.db import utcnow
from services.common.errors import abort

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
WINDOW = timedelta(hours=24)
_KEPT_HEADERS = ("Location", "ETag", "Content-Type")


def _scope() -> str:
    principal = g.get("principal")
    return f"user:{principal.id}" if principal else "anonymous"


def _fingerprint() -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode())
    digest.update(request.path.encode())
    digest.update(request.get_data())
    return digest.hexdigest()


def idempotent(view: Callable) -> Callable:
    """Decorator for a create view: honour the ``Idempotency-Key`` header."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = request.headers.get(HEADER)
        if key is None:
            return view(*args, **kwargs)
        if not 1 <= len(key) <= 255:
            abort(
                422,
                "Idempotency-Key must be 1 to 255 characters.",
                errors={HEADER: ["Must be 1 to 255 characters."]},
            )
        db, model = current_app.extensions["idempotency"]
        scope, fingerprint = _scope(), _fingerprint()
        record = db.session.scalar(select(model).filter_by(scope=scope, key=key))
        if record is not None and record.created_at < utcnow() - WINDOW:
            db.session.delete(record)
            db.session.commit()
            record = None
        if record is not None:
            return _replay(record, fingerprint)
        record = model(scope=scope, key=key, fingerprint=fingerprint)
        db.session.add(record)
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            abort(409, "A request with this Idempotency-Key is in progress.", code="conflict")
        record_id = record.id
        try:
            response: Response = current_app.make_response(view(*args, **kwargs))
        except BaseException:
            db.session.rollback()
            db.session.execute(delete(model).where(model.id == record_id))
            db.session.commit()
            raise
        if 200 <= response.status_code < 300:
            record = db.session.get(model, record_id)
            record.status = response.status_code
            record.body = response.get_data(as_text=True)
            record.headers = {
                h: response.headers[h] for h in _KEPT_HEADERS if h in response.headers
            }
        else:
            db.session.execute(delete(model).where(model.id == record_id))
        db.session.commit()
        return response

    return wrapper


def _replay(record: Any, fingerprint: str) -> Response:
    if record.fingerprint != fingerprint:
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


def init_app(app: Flask, db: Any, model: type) -> None:
    """Tell :func:`idempotent` where this service keeps its idempotency records."""
    app.extensions["idempotency"] = (db, model)
