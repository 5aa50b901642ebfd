"""What this service asks the others, over their ``/internal`` endpoints (contracts in
:mod:`services.common.contracts`):

- user service: ``GET /internal/users?ids=1,2`` (contact details, one call per batch)
  and ``GET /internal/tokens/expiring?hours=72`` (personal access tokens about to expire);
- project-task: ``GET /internal/tasks/due-soon?hours=24`` (open tasks with an assignee
  due within the window); a project's members are asked in
  :mod:`services.notification.audience`.

A failure raises :class:`~services.common.errors.ServiceUnavailable`, which jobs retry.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from services.common.contracts import DueTaskListSchema, ExpiringTokenListSchema, UserListSchema
from services.common.http import call_service

BATCH = 500

_users_schema = UserListSchema()
_due_schema = DueTaskListSchema()
_expiring_schema = ExpiringTokenListSchema()


@dataclass(frozen=True)
class Contact:
    id: int
    username: str
    email: str
    full_name: str | None
    role: str
    is_active: bool

    def as_context(self) -> dict[str, Any]:
        return {"id": self.id, "username": self.username, "full_name": self.full_name}


def contacts(user_ids: Iterable[int]) -> dict[int, Contact]:
    """Contact details of users by id (unknown ids are absent), in batches of 500."""
    ids = sorted(set(user_ids))
    found: dict[int, Contact] = {}
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        answer = call_service(
            "user", "/internal/users", _users_schema, params={"ids": ",".join(map(str, chunk))}
        )
        for item in answer["items"]:
            found[item["id"]] = Contact(
                item["id"],
                item["username"],
                item["email"],
                item["full_name"],
                item["role"],
                item["is_active"],
            )
    return found


def tasks_due_soon(hours: int) -> list[dict[str, Any]]:
    """Open, assigned tasks due within ``hours``."""
    answer = call_service(
        "project-task",
        "/internal/tasks/due-soon",
        _due_schema,
        params={"hours": hours},
        missing_ok=True,
    )
    return answer["items"] if answer else []


def tokens_expiring(hours: int) -> list[dict[str, Any]]:
    """Live personal access tokens of active accounts expiring within ``hours``."""
    answer = call_service(
        "user", "/internal/tokens/expiring", _expiring_schema, params={"hours": hours}
    )
    return answer["items"]
