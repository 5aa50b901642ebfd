"""``@username`` mentions: found in a comment's text, resolved to user ids with one call
to the user service, and kept only for members of the task's project (one call to
project-task's member list)."""

from __future__ import annotations

import re
from typing import NoReturn

import requests
from flask import current_app

from services.comment.profiles import UserServiceUnavailable, lookup_users
from services.common.errors import abort
from services.common.http import internal_call

# A username as the user service allows it, not preceded by a word character (so an
# e-mail address is no mention). Trailing dots are sentence punctuation, not the name.
MENTION = re.compile(r"(?<![\w@.])@([A-Za-z0-9_.-]{3,32})")
MAX_MENTIONS = 50


def _unavailable(what: str) -> NoReturn:
    abort(
        503,
        f"{what} is unavailable to resolve @mentions; try again shortly.",
        code="service_unavailable",
        headers={"Retry-After": "5"},
    )


def mentioned_usernames(content: str) -> list[str]:
    """Lower-cased usernames @mentioned in ``content``, first occurrence first."""
    names: dict[str, None] = {}
    for match in MENTION.finditer(content):
        raw = match.group(1).lower()
        for candidate in (raw, raw.rstrip(".")):
            if len(candidate) >= 3:
                names.setdefault(candidate)
        if len(names) >= MAX_MENTIONS:
            break
    return list(names)


def _member_ids(project_id: int) -> set[int]:
    base = current_app.config["PROJECT_TASK_SERVICE_URL"]
    try:
        response = internal_call("GET", f"{base}/internal/projects/{project_id}/members")
    except requests.RequestException:
        _unavailable("The project service")
    if response.status_code == 404:
        return set()
    if response.status_code != 200:
        _unavailable("The project service")
    return {item["user_id"] for item in response.json().get("items", [])}


def resolve_mentions(content: str, project_id: int) -> list[int]:
    """Ids of the project members @mentioned in ``content``, sorted."""
    names = mentioned_usernames(content)
    if not names:
        return []
    try:
        users = lookup_users(usernames=",".join(names))
    except UserServiceUnavailable:
        _unavailable("The user service")
    ids = {user["id"] for user in users if user["is_active"]}
    if not ids:
        return []
    return sorted(ids & _member_ids(project_id))
