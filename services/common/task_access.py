"""Who may do what on a task, asked of the project-task service.

``GET {PROJECT_TASK_SERVICE_URL}/internal/tasks/{id}/access?user_id=N`` answers
``{"project_id", "role", "task": {"id", "title", "assignee_id", "reporter_id"}}``, or 404
when the task is missing or N is no member of its project. Answers (404s included) are
cached per (task, user) for ``TASK_ACCESS_CACHE_SECONDS``; a cached answer is never used
for another user. When project-task cannot answer, the request gets a 503.

Global admins are no members, so project-task answers 404 for them unless they joined
the project. The comment and attachment services let them read everything on a task and
moderate (delete) anything; writing needs a real membership.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, NoReturn

import marshmallow as ma
import requests
from flask import Flask, current_app

from services.common.auth import Principal
from services.common.errors import abort
from services.common.http import internal_call

log = logging.getLogger(__name__)

# Weakest first: a role may do everything the roles before it may.
ROLES = ("viewer", "member", "admin", "owner")
ROLE_RANK = {role: rank for rank, role in enumerate(ROLES)}
_MAX_ENTRIES = 10_000


class _TaskSummarySchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    id = ma.fields.Integer(required=True)
    title = ma.fields.String(required=True)
    assignee_id = ma.fields.Integer(allow_none=True, load_default=None)
    reporter_id = ma.fields.Integer(allow_none=True, load_default=None)


class _AccessAnswerSchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    project_id = ma.fields.Integer(required=True)
    role = ma.fields.String(required=True, validate=ma.validate.OneOf(ROLES))
    task = ma.fields.Nested(_TaskSummarySchema, required=True)


_answer_schema = _AccessAnswerSchema()


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
        return self.role is not None and ROLE_RANK[self.role] >= ROLE_RANK[needed]

    def task_summary(self) -> dict[str, Any]:
        """``{id, title, assignee_id, reporter_id}`` for events (only the id when unknown)."""
        if self.task is not None:
            return dict(self.task)
        return {"id": self.task_id, "title": None, "assignee_id": None, "reporter_id": None}


class TaskAccessUnavailable(Exception):
    """project-task did not give a usable answer."""


class TaskAccessClient:
    """A short-lived per-(task, user) cache in front of project-task's access endpoint."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[tuple[int, int], tuple[float, dict[str, Any] | None]] = {}
        self._lock = threading.Lock()

    def answer(self, task_id: int, user_id: int, fresh: bool = False) -> dict[str, Any] | None:
        """project-task's answer for ``user_id`` on ``task_id`` (None: no access);
        ``fresh`` asks project-task even while a cached answer is valid."""
        key = (task_id, user_id)
        now = time.monotonic()
        entry = None if fresh else self._entries.get(key)
        if entry is not None and now < entry[0]:
            return entry[1]
        answer = self._fetch(task_id, user_id)
        with self._lock:
            if len(self._entries) >= _MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = (now + self.ttl, answer)
        return answer

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    @staticmethod
    def _fetch(task_id: int, user_id: int) -> dict[str, Any] | None:
        base = current_app.config["PROJECT_TASK_SERVICE_URL"]
        url = f"{base}/internal/tasks/{task_id}/access"
        try:
            response = internal_call("GET", url, params={"user_id": user_id})
        except requests.RequestException as exc:
            raise TaskAccessUnavailable(f"project-task unreachable: {exc}") from exc
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise TaskAccessUnavailable(f"project-task answered {response.status_code}")
        try:
            return _answer_schema.load(response.json())
        except (ValueError, ma.ValidationError) as exc:
            raise TaskAccessUnavailable(f"project-task answered nonsense: {exc}") from exc


def _unavailable() -> NoReturn:
    abort(
        503,
        "Task permissions are unavailable; try again shortly.",
        code="service_unavailable",
        headers={"Retry-After": "5"},
    )


def task_access(task_id: int, principal: Principal, fresh: bool = False) -> TaskAccess:
    """The caller's access to a task; 404 when they cannot see it. ``fresh`` skips the
    cache (for a write that comes long after the first check)."""
    client: TaskAccessClient = current_app.extensions["task_access"]
    try:
        answer = client.answer(task_id, principal.id, fresh)
    except TaskAccessUnavailable as exc:
        log.warning("task access of user %s on task %s unavailable: %s", principal.id, task_id, exc)
        _unavailable()
    if answer is not None:
        return TaskAccess(
            task_id, answer["project_id"], answer["role"], answer["task"], principal.is_admin
        )
    if principal.is_admin:
        return TaskAccess(task_id, None, None, None, True)
    abort(404, "No such task.")


def init_app(app: Flask) -> None:
    """Install this process's task access cache."""
    app.extensions["task_access"] = TaskAccessClient(app.config["TASK_ACCESS_CACHE_SECONDS"])
