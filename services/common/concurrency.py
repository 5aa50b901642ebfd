"""Optimistic concurrency: ``ETag`` on single-resource reads and ``If-Match`` on writes.

The ETag is a hash of the resource's JSON representation, so any visible change makes
a new one. Without ``If-Match`` the last write wins; with a stale one the write is
refused with 412 ``precondition_failed`` and nothing changes.
"""

from __future__ import annotations

import hashlib
from typing import Any

import marshmallow as ma
from flask import Response, json, jsonify, request

from services.common.errors import abort


def etag_of(representation: Any) -> str:
    """A strong ETag for a JSON-serialisable representation."""
    raw = json.dumps(representation, sort_keys=True, separators=(",", ":"))
    return '"' + hashlib.sha256(raw.encode()).hexdigest()[:32] + '"'


def with_etag(
    schema: ma.Schema, obj: Any, status: int = 200, **headers: str
) -> tuple[Response, int, dict[str, str]]:
    """A view's answer for ``obj`` with its ``ETag``, the representation dumped once by
    ``schema`` (the schema the view's ``@blp.response`` documents) for both the body
    and the tag, instead of once for each."""
    representation = schema.dump(obj)
    return jsonify(representation), status, {"ETag": etag_of(representation), **headers}


def check_if_match(representation: Any) -> None:
    """Abort with 412 when ``If-Match`` is present and names another version."""
    header = request.headers.get("If-Match")
    if header is None:
        return
    current = etag_of(representation)
    wanted = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    if "*" in wanted or current in wanted:
        return
    abort(
        412,
        "The resource has changed since you read it; fetch it again and retry.",
        code="precondition_failed",
        headers={"ETag": current},
    )
