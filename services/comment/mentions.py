"""``@username`` mentions: found in a comment's text, resolved to user ids with one call
to the user service, and kept only for members of the task's project (one call to
project-task's member list)."""

from __future__ import annotations

import re

from services.comment.profiles import lookup_users
from services.common.contracts import MemberListSchema
from services.common.http import call_service

# A username as the user service allows it, not preceded by a word character (so an
# e-mail address is no mention). Trailing dots are sentence punctuation, not the name.
MENTION = re.compile(r"(?<![\w@.])@([A-Za-z0-9_.-]{3,32})")
MAX_MENTIONS = 50

_members_schema = MemberListSchema()


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


def project_member_ids(project_id: int) -> set[int]:
    """Ids of a project's members (none when the project is gone)."""
    answer = call_service(
        "project-task",
        f"/internal/projects/{project_id}/members",
        _members_schema,
        missing_ok=True,
    )
    return {item["user_id"] for item in answer["items"]} if answer else set()


def resolve_mentions(content: str, project_id: int) -> list[int]:
    """Ids of the project members @mentioned in ``content``, sorted."""
    names = mentioned_usernames(content)
    if not names:
        return []
    users = lookup_users(usernames=",".join(names))
    ids = {user["id"] for user in users if user["is_active"]}
    if not ids:
        return []
    return sorted(ids & project_member_ids(project_id))
