"""Which projects a user is a member of, asked of the project-task service: the
knowledge behind what the activity feed and the live stream show a member.

``GET project-task /internal/users/<user_id>/projects`` answers
:class:`~services.common.contracts.MembershipListSchema`. Answers are cached per user for
``MEMBERSHIP_CACHE_SECONDS``; :func:`forget` drops a user's answer as soon as a
membership event says it changed. When the call fails, ``ServiceUnavailable`` (a 503)
rather than a guess.
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


def forget(user_id: int | None = None) -> None:
    """Drop the cached answer of ``user_id`` (of everyone when None)."""
    cache: ExpiringCache = current_app.extensions["project_memberships"]
    if user_id is None:
        cache.clear()
    else:
        cache.pop(user_id)


def init_app(app: Flask) -> None:
    """Install the membership cache of this process."""
    app.extensions["project_memberships"] = ExpiringCache(
        CACHE_SIZE, app.config["MEMBERSHIP_CACHE_SECONDS"]
    )
