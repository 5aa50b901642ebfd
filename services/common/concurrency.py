"""Optimistic concurrency: ``ETag`` on single-resource reads and ``If-Match`` on writes.

The ETag is a hash of the resource's JSON representation, so any visible change makes
a new one. Without ``If-Match`` the last write wins; with a stale one the write is
refused with 412 ``precondition_failed`` and nothing changes.
"""

from __future__ import annotations

import hashlib
from typing import Any

from flask import json, request

from services.common.errors import abort


def etag_of(representation: Any) -> str:
    """A strong ETag for a JSON-serialisable representation."""
    raw = json.dumps(representation, sort_keys=True, separators=(",", ":"))
    return '"' + hashlib.sha256(raw.encode()).hexdigest()[:32] + '"'


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
