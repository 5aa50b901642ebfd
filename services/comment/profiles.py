"""Authors' public profiles and @mention look-ups, asked of the user service.

``GET {USER_SERVICE_URL}/internal/users?ids=1,2`` (or ``?usernames=a,b``) answers
``{"items": [{"id", "username", "email", "full_name", "role", "is_active"}]}``. Profiles
are fetched for a whole page of comments in one call and cached for
``USER_PROFILE_CACHE_SECONDS``. When the user service cannot answer, comments still
list, with an author of unknown name (``username`` and ``full_name`` null).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from typing import Any

import marshmallow as ma
import requests
from flask import Flask, current_app

from services.common.http import internal_call

log = logging.getLogger(__name__)

BATCH = 500
_MAX_ENTRIES = 50_000


class UserServiceUnavailable(Exception):
    """The user service did not give a usable answer."""


class _UserSchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    id = ma.fields.Integer(required=True)
    username = ma.fields.String(required=True)
    full_name = ma.fields.String(allow_none=True, load_default=None)
    is_active = ma.fields.Boolean(load_default=True)


class _UserListSchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    items = ma.fields.List(ma.fields.Nested(_UserSchema), required=True)


_list_schema = _UserListSchema()


def lookup_users(**params: str) -> list[dict[str, Any]]:
    """One call to the user service's internal user lookup."""
    url = f"{current_app.config['USER_SERVICE_URL']}/internal/users"
    try:
        response = internal_call("GET", url, params=params)
    except requests.RequestException as exc:
        raise UserServiceUnavailable(f"user service unreachable: {exc}") from exc
    if response.status_code != 200:
        raise UserServiceUnavailable(f"user service answered {response.status_code}")
    try:
        return _list_schema.load(response.json())["items"]
    except (ValueError, ma.ValidationError) as exc:
        raise UserServiceUnavailable(f"user service answered nonsense: {exc}") from exc


class ProfileDirectory:
    """``{id, username, full_name}`` by user id, cached for a short while."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[int, tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def profiles(self, user_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        """Profiles of the given users: cached ones, the rest in one call per 500 ids."""
        now = time.monotonic()
        wanted = set(user_ids)
        found: dict[int, dict[str, Any]] = {}
        for user_id in wanted:
            entry = self._entries.get(user_id)
            if entry is not None and now < entry[0]:
                found[user_id] = entry[1]
        missing = sorted(wanted - found.keys())
        for start in range(0, len(missing), BATCH):
            chunk = missing[start : start + BATCH]
            try:
                users = lookup_users(ids=",".join(map(str, chunk)))
            except UserServiceUnavailable as exc:
                log.warning("author profiles unavailable: %s", exc)
                break
            fetched = {
                user["id"]: {key: user[key] for key in ("id", "username", "full_name")}
                for user in users
            }
            found.update(fetched)
            self._remember(fetched, now)
        return found

    def _remember(self, fetched: dict[int, dict[str, Any]], now: float) -> None:
        with self._lock:
            if len(self._entries) + len(fetched) > _MAX_ENTRIES:
                self._entries.clear()
            for user_id, profile in fetched.items():
                self._entries[user_id] = (now + self.ttl, profile)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def attach_authors(comments: Iterable[Any]) -> None:
    """Set ``comment.author`` on every comment from one batch look-up."""
    comments = list(comments)
    directory: ProfileDirectory = current_app.extensions["profile_directory"]
    found = directory.profiles(comment.author_id for comment in comments)
    for comment in comments:
        comment.author = found.get(
            comment.author_id, {"id": comment.author_id, "username": None, "full_name": None}
        )


def init_app(app: Flask) -> None:
    """Install this process's profile cache."""
    app.extensions["profile_directory"] = ProfileDirectory(app.config["USER_PROFILE_CACHE_SECONDS"])
