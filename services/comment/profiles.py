"""Authors' public profiles and @mention look-ups, asked of the user service.

``GET user /internal/users?ids=1,2`` (or ``?usernames=a,b``) answers
:class:`~services.common.contracts.UserListSchema`. Profiles are fetched for a whole
page of comments in one call and cached for ``USER_PROFILE_CACHE_SECONDS``. When the
user service cannot answer, comments still list, with an author of unknown name
(``username`` and ``full_name`` null).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from flask import Flask, current_app

from services.common.cache import MISSING, ExpiringCache
from services.common.contracts import UserListSchema
from services.common.errors import ServiceUnavailable
from services.common.http import call_service

log = logging.getLogger(__name__)

BATCH = 500
CACHE_SIZE = 50_000

_schema = UserListSchema()


def lookup_users(**params: str) -> list[dict[str, Any]]:
    """One call to the user service's internal user lookup."""
    return call_service("user", "/internal/users", _schema, params=params)["items"]


def profiles(user_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """``{id, username, full_name}`` of the given users: cached ones, the rest in one call
    per 500 ids (left out while the user service cannot answer)."""
    cache: ExpiringCache = current_app.extensions["profile_directory"]
    wanted = set(user_ids)
    found: dict[int, dict[str, Any]] = {}
    for user_id in wanted:
        profile = cache.get(user_id)
        if profile is not MISSING:
            found[user_id] = profile
    missing = sorted(wanted - found.keys())
    for start in range(0, len(missing), BATCH):
        chunk = missing[start : start + BATCH]
        try:
            users = lookup_users(ids=",".join(map(str, chunk)))
        except ServiceUnavailable as exc:
            log.warning("author profiles unavailable: %s", exc)
            break
        fetched = {
            user["id"]: {key: user[key] for key in ("id", "username", "full_name")}
            for user in users
        }
        found.update(fetched)
        cache.update(fetched)
    return found


def attach_authors(comments: Iterable[Any]) -> None:
    """Set ``comment.author`` on every comment from one batch look-up."""
    comments = list(comments)
    found = profiles(comment.author_id for comment in comments)
    for comment in comments:
        comment.author = found.get(
            comment.author_id, {"id": comment.author_id, "username": None, "full_name": None}
        )


def init_app(app: Flask) -> None:
    """Install this process's profile cache."""
    app.extensions["profile_directory"] = ExpiringCache(
        CACHE_SIZE, app.config["USER_PROFILE_CACHE_SECONDS"]
    )
