"""Who may do what on a task, asked of the project-task service.

``GET project-task /internal/tasks/{id}/access?user_id=N`` answers
:class:`~services.common.contracts.TaskAccessSchema`, or 404 when the task is missing or
N is no member of its project. Answers (404s included) are cached per (task, user) for
``TASK_ACCESS_CACHE_SECONDS``; a cached answer is never used for another user. When
project-task cannot answer, the request gets a 503 (``ServiceUnavailable``).

Global admins are no members, so project-task answers 404 for them unless they joined
the project. The comment and attachment services let them read everything on a task and
moderate (delete) anything; writing needs a real membership.

A comment or file the caller cannot see answers exactly like one that does not exist
(:func:`item_access`): the same 404, after the same work, so neither the answer nor its
timing tells a stranger which ids exist.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app

from services.common.auth import Principal
from services.common.cache import MISSING, ExpiringCache
from services.common.contracts import TaskAccessSchema, role_at_least
from services.common.errors import abort
from services.common.http import call_service

CACHE_SIZE = 10_000
# No task has this id (ids start at 1): what project-task is asked about for a comment or
# file that does not exist, so a missing one costs the same round trip as a hidden one.
NO_TASK = 0

_answer_schema = TaskAccessSchema()


@dataclass(frozen=True)
class TaskAccess:
    """What the caller may do on one task. ``role`` is None for a global admin who is no
    member of the task's project; then ``project_id`` and ``task`` are unknown too."""

    task_id: int
    project_id: int | None
    role: str | None
    task: dict[str, Any] | None
    global_admin: bool

    def has_role(self, needed: str) -> bool:
        """Whether the caller's project role is ``needed`` or stronger."""
        return role_at_least(self.role, needed)

    def task_summary(self) -> dict[str, Any]:
        """``{id, title, assignee_id, reporter_id}`` for events (only the id when unknown)."""
        if self.task is not None:
            return dict(self.task)
        return {"id": self.task_id, "title": None, "assignee_id": None, "reporter_id": None}


def access_answer(
    task_id: int, user_id: int, fresh: bool = False, cache_key: Hashable | None = None
) -> dict[str, Any] | None:
    """project-task's answer for ``user_id`` on ``task_id`` (None: no access), cached
    under ``(task_id, user_id)`` unless another ``cache_key`` is given; ``fresh`` asks
    project-task even while a cached answer is valid."""
    cache: ExpiringCache = current_app.extensions["task_access"]
    key = (task_id, user_id) if cache_key is None else cache_key
    answer = MISSING if fresh else cache.get(key)
    if answer is MISSING:
        answer = call_service(
            "project-task",
            f"/internal/tasks/{task_id}/access",
            _answer_schema,
            params={"user_id": user_id},
            missing_ok=True,
        )
        cache.set(key, answer)
    return answer


def task_access(
    task_id: int, principal: Principal, fresh: bool = False, not_found: str = "No such task."
) -> TaskAccess:
    """The caller's access to a task; 404 (``not_found``) when they cannot see it.
    ``fresh`` skips the cache (for a write that comes long after the first check)."""
    answer = access_answer(task_id, principal.id, fresh)
    if answer is not None:
        return TaskAccess(
            task_id, answer["project_id"], answer["role"], answer["task"], principal.is_admin
        )
    if principal.is_admin:
        return TaskAccess(task_id, None, None, None, True)
    abort(404, not_found)


def item_access(kind: str, item_id: int, task_id: int | None, principal: Principal) -> TaskAccess:
    """The caller's access to the task that comment or file ``item_id`` is on (``kind``
    names it); ``task_id`` is None when there is no such item. 404 ``No such <kind>.``
    alike for a missing item and one the caller cannot see, after the same work: a
    missing item's question goes to project-task too (about :data:`NO_TASK`), cached
    under the item's own key as a hidden item's is under its task."""
    not_found = f"No such {kind}."
    if task_id is None:
        access_answer(NO_TASK, principal.id, cache_key=(kind, item_id, principal.id))
        abort(404, not_found)
    return task_access(task_id, principal, not_found=not_found)


def init_app(app: Flask) -> None:
    """Install this process's task access cache."""
    app.extensions["task_access"] = ExpiringCache(
        CACHE_SIZE, app.config["TASK_ACCESS_CACHE_SECONDS"]
    )
