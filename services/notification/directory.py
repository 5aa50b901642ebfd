"""What this service asks the others, over their ``/internal`` endpoints.

- user service: ``GET /internal/users?ids=1,2`` → ``{"items": [{"id", "username", "email",
  "full_name", "role", "is_active"}]}`` (contact details, in one call per batch);
- project-task: ``GET /internal/projects/{id}/members`` → ``{"items": [{"user_id",
  "role"}]}`` (who may receive a project's events on a webhook) and
  ``GET /internal/tasks/due-soon?hours=24`` → ``{"items": [{"id", "title", "project_id",
  "assignee_id", "due_date"}]}`` (open tasks with an assignee due within the window).

A failure raises :class:`UpstreamError` (or a ``requests`` error), which jobs retry.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask import current_app

from services.common.http import internal_call

BATCH = 500


class UpstreamError(Exception):
    """Another service answered with an error; worth retrying later."""


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


def _get(url: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    response = internal_call("GET", url, params=params)
    if response.status_code == 404:
        return {"items": []}
    if response.status_code != 200:
        raise UpstreamError(f"GET {url} answered {response.status_code}")
    return response.json()


def contacts(user_ids: Iterable[int]) -> dict[int, Contact]:
    """Contact details of users by id (unknown ids are absent), in batches of 500."""
    ids = sorted(set(user_ids))
    found: dict[int, Contact] = {}
    base = current_app.config["USER_SERVICE_URL"]
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        body = _get(f"{base}/internal/users", {"ids": ",".join(map(str, chunk))})
        for item in body.get("items", []):
            found[item["id"]] = Contact(
                item["id"],
                item["username"],
                item["email"],
                item.get("full_name"),
                item.get("role", "user"),
                bool(item.get("is_active", True)),
            )
    return found


def project_member_ids(project_id: int) -> set[int]:
    """Ids of a project's members (empty if the project is gone)."""
    base = current_app.config["PROJECT_TASK_SERVICE_URL"]
    body = _get(f"{base}/internal/projects/{project_id}/members")
    return {item["user_id"] for item in body.get("items", [])}


def tasks_due_soon(hours: int) -> list[dict[str, Any]]:
    """Open, assigned tasks due within ``hours``."""
    base = current_app.config["PROJECT_TASK_SERVICE_URL"]
    return list(_get(f"{base}/internal/tasks/due-soon", {"hours": hours}).get("items", []))
