"""Which projects a user is a member of, asked of the project-task service.

``GET {PROJECT_TASK_SERVICE_URL}/internal/users/<user_id>/projects`` answers
``{"items": [{"project_id": int, "role": str}]}``. Answers are cached per user for
``MEMBERSHIP_CACHE_SECONDS``; when the call fails the feed answers 503 rather than guess.
"""

from __future__ import annotations

import logging
import threading
import time

import marshmallow as ma
import requests
from flask import Flask, current_app

from services.common.errors import abort
from services.common.http import internal_call

log = logging.getLogger(__name__)

_MAX_ENTRIES = 10_000


class _MembershipSchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    project_id = ma.fields.Integer(required=True)
    role = ma.fields.String(required=True)


class MembershipListSchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    items = ma.fields.List(ma.fields.Nested(_MembershipSchema), required=True)


class MembershipsUnavailable(Exception):
    """The project-task service did not give a usable answer."""


class ProjectMemberships:
    """A short-lived per-user cache in front of the project-task service."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[int, tuple[float, frozenset[int]]] = {}
        self._lock = threading.Lock()

    def project_ids(self, user_id: int) -> frozenset[int]:
        """Ids of the projects ``user_id`` is a member of."""
        now = time.monotonic()
        entry = self._entries.get(user_id)
        if entry is not None and now < entry[0]:
            return entry[1]
        ids = self._fetch(user_id)
        with self._lock:
            if len(self._entries) >= _MAX_ENTRIES:
                self._entries.clear()
            self._entries[user_id] = (now + self.ttl, ids)
        return ids

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    @staticmethod
    def _fetch(user_id: int) -> frozenset[int]:
        url = f"{current_app.config['PROJECT_TASK_SERVICE_URL']}/internal/users/{user_id}/projects"
        try:
            response = internal_call("GET", url)
        except requests.RequestException as exc:
            raise MembershipsUnavailable(f"project-task unreachable: {exc}") from exc
        if response.status_code != 200:
            raise MembershipsUnavailable(f"project-task answered {response.status_code}")
        try:
            body = MembershipListSchema().load(response.json())
        except (ValueError, ma.ValidationError) as exc:
            raise MembershipsUnavailable(f"project-task answered nonsense: {exc}") from exc
        return frozenset(item["project_id"] for item in body["items"])


def member_project_ids(user_id: int) -> frozenset[int]:
    """The caller's projects, or a 503 problem when project-task cannot say."""
    memberships: ProjectMemberships = current_app.extensions["project_memberships"]
    try:
        return memberships.project_ids(user_id)
    except MembershipsUnavailable as exc:
        log.warning("project memberships of user %s unavailable: %s", user_id, exc)
        abort(
            503,
            "Project memberships are unavailable; try again shortly.",
            code="service_unavailable",
            headers={"Retry-After": "5"},
        )


def init_app(app: Flask) -> None:
    """Install the membership cache of this process."""
    app.extensions["project_memberships"] = ProjectMemberships(
        app.config["MEMBERSHIP_CACHE_SECONDS"]
    )
