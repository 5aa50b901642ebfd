"""``Idempotency-Key`` support for creates (docs/api.md).

The same key from the same caller (the user; for an anonymous create, the client's
address) with the same request within 24 h replays the first response with ``Idempotent-Replayed: true``; the same key with another request is 422
``idempotency_key_reused``; a concurrent request still holding the key gets 409.

The protocol is four steps, used by :func:`idempotent` and by any view that must
fingerprint its request another way (the attachment upload, whose body is streamed to
storage and fingerprinted by its hash rather than read here):

1. :func:`claim` the caller's key with the request's fingerprint: the first response
   to replay, or the id of a record this request now holds;
2. the create runs;
3. :func:`remember` its response for replays (a response that is no success releases
   the key instead);
4. or, when the create raised, :func:`release` the key.
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


def requested_key() -> str | None:
    """The request's key, if it sent one; 422 when it is not 1 to 255 characters."""
    key = request.headers.get(HEADER)
    if key is not None and not 1 <= len(key) <= 255:
        abort(
            422,
            "Idempotency-Key must be 1 to 255 characters.",
            errors={HEADER: ["Must be 1 to 255 characters."]},
        )
    return key


def _scope() -> str:
    # Anonymous creates (registration) are scoped to the client's address (as the proxy
    # saw it), so one client's key never replays or blocks another's.
    principal = g.get("principal")
    return f"user:{principal.id}" if principal else f"anonymous:{request.remote_addr}"


def body_fingerprint() -> str:
    """The common fingerprint of a request: its method, path and body."""
    digest = hashlib.sha256()
    digest.update(request.method.encode())
    digest.update(request.path.encode())
    digest.update(request.get_data())
    return digest.hexdigest()


def _store() -> tuple[Any, type]:
    return current_app.extensions["idempotency"]


def claim(key: str, fingerprint: str) -> Response | int:
    """The first response to replay, or the id of a new record this request now holds;
    422 when the key was used with another fingerprint, 409 while its request runs."""
    db, model = _store()
    scope = _scope()
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
    return record.id


def remember(record_id: int, response: Response) -> None:
    """Keep a successful response for replays; after any other, give the key back."""
    db, model = _store()
    if not 200 <= response.status_code < 300:
        db.session.execute(delete(model).where(model.id == record_id))
        db.session.commit()
        return
    record = db.session.get(model, record_id)
    record.status = response.status_code
    record.body = response.get_data(as_text=True)
    record.headers = {h: response.headers[h] for h in _KEPT_HEADERS if h in response.headers}
    db.session.commit()


def release(record_id: int) -> None:
    """Give the key back after the create failed (its changes are rolled back)."""
    db, model = _store()
    db.session.rollback()
    db.session.execute(delete(model).where(model.id == record_id))
    db.session.commit()


def idempotent(view: Callable) -> Callable:
    """Decorator for a create view: honour the ``Idempotency-Key`` header, the request
    fingerprinted by its method, path and body."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = requested_key()
        if key is None:
            return view(*args, **kwargs)
        claimed = claim(key, body_fingerprint())
        if isinstance(claimed, Response):
            return claimed
        try:
            response: Response = current_app.make_response(view(*args, **kwargs))
        except BaseException:
            release(claimed)
            raise
        remember(claimed, response)
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
    """Tell the protocol where this service keeps its idempotency records."""
    app.extensions["idempotency"] = (db, model)
