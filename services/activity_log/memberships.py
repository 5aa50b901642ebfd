"""Which projects a user is a member of, asked of the project-task service.

``GET project-task /internal/users/<user_id>/projects`` answers
:class:`~services.common.contracts.MembershipListSchema`. Answers are cached per user for
``MEMBERSHIP_CACHE_SECONDS``; when the call fails the feed answers 503 rather than guess.
"""

from __future__ import annotations

from flask import Flask, current_app

from services.common.cache import MISSING, ExpiringCache
from services.common.contracts import MembershipListSchema
from services.common.http import call_service

CACHE_SIZE = 10_000

_schema = MembershipListSchema()


def member_project_ids(user_id: int) -> frozenset[int]:
    """Ids of the projects ``user_id`` is a member of (``ServiceUnavailable`` when
    project-task cannot say)."""
    cache: ExpiringCache = current_app.extensions["project_memberships"]
    ids = cache.get(user_id)
    if ids is MISSING:
        answer = call_service("project-task", f"/internal/users/{user_id}/projects", _schema)
        ids = frozenset(item["project_id"] for item in answer["items"])
        cache.set(user_id, ids)
    return ids


def init_app(app: Flask) -> None:
    """Install the membership cache of this process."""
    app.extensions["project_memberships"] = ExpiringCache(
        CACHE_SIZE, app.config["MEMBERSHIP_CACHE_SECONDS"]
    )
