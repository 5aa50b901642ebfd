"""SPEC §11 R7: the authorization matrix, 0 leaks.

Every public operation of every built service (walked from the OpenAPI documents the
services publish through nginx, so services not built here have no document and are
never called) is called by each of ten callers against real resources made for the
test: a workspace of the workspace owner with a workspace admin and a workspace member;
in it (put there by a global admin, visible to the workspace) a project with a viewer,
a member and a project admin, a task related to another, a comment and an attachment
of the member, the member's notification, the owner's webhook, an admin's template,
the owner's report and schedule. ``MATRIX`` below is the expected status of every
cell, written from SPEC §2-§9 and §16:

- anonymous is always 401 except on the public credential endpoints;
- project-scoped things (project, member, task, relation, comment, attachment, quick
  project summary) are 404 to a caller outside the project, so their existence does not
  leak; so are a workspace and its members to a caller outside the workspace;
- workspace admins (and its owner) act as admins of the workspace's projects, workspace
  members as viewers of its workspace-visible ones; neither is a project member, so they
  never edit others' comments and never delete the project;
- things owned by one user (notifications, webhooks, reports, schedules) are 404 to
  others, and admin-only endpoints are 403 to everyone but a global admin.

Cells that destroy something (DELETE, logout, token refresh) act on a fresh resource or
session of their own, so no cell depends on another. Every operation in a document must
have a row, so a new endpoint cannot skip the matrix.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from scripts import stack
from scripts.toolkit.waiting import wait_for
from tests.support.api import Account, ApiClient

CALLERS = (
    "anonymous",
    "other",
    "viewer",
    "member",
    "project_admin",
    "owner",
    "admin",
    "ws_owner",
    "ws_admin",
    "ws_member",
)
WORKSPACE_CALLERS = {"ws_owner": "owner", "ws_admin": "admin", "ws_member": "member"}

# fmt: off
MATRIX: dict[tuple[str, str], tuple[int, ...]] = {
    #                                                     anon other viewer member padmin owner admin ws_owner ws_admin ws_member
    # user service (SPEC §3)
    ("POST", "/api/register"):                            (201, 201, 201, 201, 201, 201, 201, 201, 201, 201),
    ("POST", "/api/login"):                               (200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("POST", "/api/token/refresh"):                       (401, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("POST", "/api/logout"):                              (401, 204, 204, 204, 204, 204, 204, 204, 204, 204),
    ("POST", "/api/password/forgot"):                     (202, 202, 202, 202, 202, 202, 202, 202, 202, 202),
    ("POST", "/api/password/reset"):                      (422, 422, 422, 422, 422, 422, 422, 422, 422, 422),
    ("GET", "/api/users/me"):                             (401, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("PUT", "/api/users/me"):                             (401, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("PATCH", "/api/users/me"):                           (401, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("GET", "/api/users/{user_id}"):                      (401, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("GET", "/api/users"):                                (401, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("GET", "/api/admin/users"):                          (401, 403, 403, 403, 403, 403, 200, 403, 403, 403),
    ("GET", "/api/admin/users/{user_id}"):                (401, 403, 403, 403, 403, 403, 200, 403, 403, 403),
    ("PATCH", "/api/admin/users/{user_id}"):              (401, 403, 403, 403, 403, 403, 200, 403, 403, 403),
    # project-task service (SPEC §4)
    ("GET", "/api/projects"):                             (401, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("POST", "/api/projects"):                            (401, 201, 201, 201, 201, 201, 201, 201, 201, 201),
    ("GET", "/api/projects/{project_id}"):                (401, 404, 200, 200, 200, 200, 200, 200, 200, 200),
    ("PUT", "/api/projects/{project_id}"):                (401, 404, 403, 403, 200, 200, 200, 200, 200, 403),
    ("PATCH", "/api/projects/{project_id}"):              (401, 404, 403, 403, 200, 200, 200, 200, 200, 403),
    ("DELETE", "/api/projects/{project_id}"):             (401, 404, 403, 403, 403, 204, 204, 403, 403, 403),
    ("GET", "/api/projects/{project_id}/members"):        (401, 404, 200, 200, 200, 200, 200, 200, 200, 200),
    ("POST", "/api/projects/{project_id}/members"):       (401, 404, 403, 403, 201, 201, 201, 201, 201, 403),
    ("GET", "/api/projects/{project_id}/members/{user_id}"):    (401, 404, 200, 200, 200, 200, 200, 200, 200, 200),
    ("PATCH", "/api/projects/{project_id}/members/{user_id}"):  (401, 404, 403, 403, 200, 200, 200, 200, 200, 403),
    ("DELETE", "/api/projects/{project_id}/members/{user_id}"): (401, 404, 403, 403, 204, 204, 204, 204, 204, 403),
    ("GET", "/api/projects/{project_id}/tasks"):          (401, 404, 200, 200, 200, 200, 200, 200, 200, 200),
    ("POST", "/api/projects/{project_id}/tasks"):         (401, 404, 403, 201, 201, 201, 201, 201, 201, 403),
    ("GET", "/api/tasks"):                                (401, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("GET", "/api/tasks/{task_id}"):                      (401, 404, 200, 200, 200, 200, 200, 200, 200, 200),
    ("PUT", "/api/tasks/{task_id}"):                      (401, 404, 403, 200, 200, 200, 200, 200, 200, 403),
    ("PATCH", "/api/tasks/{task_id}"):                    (401, 404, 403, 200, 200, 200, 200, 200, 200, 403),
    ("DELETE", "/api/tasks/{task_id}"):                   (401, 404, 403, 403, 204, 204, 204, 204, 204, 403),
    ("POST", "/api/tasks/{task_id}/duplicate"):           (401, 404, 403, 201, 201, 201, 201, 201, 201, 403),
    # workspaces and task relations (SPEC §16)
    ("GET", "/api/workspaces"):                           (401, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("POST", "/api/workspaces"):                          (401, 201, 201, 201, 201, 201, 201, 201, 201, 201),
    ("GET", "/api/workspaces/{workspace_id}"):            (401, 404, 404, 404, 404, 404, 200, 200, 200, 200),
    ("PATCH", "/api/workspaces/{workspace_id}"):          (401, 404, 404, 404, 404, 404, 200, 200, 200, 403),
    ("DELETE", "/api/workspaces/{workspace_id}"):         (401, 404, 404, 404, 404, 404, 204, 204, 403, 403),
    ("GET", "/api/workspaces/{workspace_id}/projects"):   (401, 404, 404, 404, 404, 404, 200, 200, 200, 200),
    ("GET", "/api/workspaces/{workspace_id}/members"):    (401, 404, 404, 404, 404, 404, 200, 200, 200, 200),
    ("POST", "/api/workspaces/{workspace_id}/members"):   (401, 404, 404, 404, 404, 404, 201, 201, 201, 403),
    ("GET", "/api/workspaces/{workspace_id}/members/{user_id}"):    (401, 404, 404, 404, 404, 404, 200, 200, 200, 200),
    ("PATCH", "/api/workspaces/{workspace_id}/members/{user_id}"):  (401, 404, 404, 404, 404, 404, 200, 200, 200, 403),
    ("DELETE", "/api/workspaces/{workspace_id}/members/{user_id}"): (401, 404, 404, 404, 404, 404, 204, 204, 204, 403),
    ("GET", "/api/tasks/{task_id}/relations"):            (401, 404, 200, 200, 200, 200, 200, 200, 200, 200),
    ("POST", "/api/tasks/{task_id}/relations"):           (401, 404, 403, 201, 201, 201, 201, 201, 201, 403),
    ("GET", "/api/tasks/{task_id}/relations/{relation_id}"):    (401, 404, 200, 200, 200, 200, 200, 200, 200, 200),
    ("DELETE", "/api/tasks/{task_id}/relations/{relation_id}"): (401, 404, 403, 204, 204, 204, 204, 204, 204, 403),
    # comment service (SPEC §5): authors edit their own, project admins delete any;
    # global admins read and moderate but write only where they are members
    ("GET", "/api/tasks/{task_id}/comments"):             (401, 404, 200, 200, 200, 200, 200, 200, 200, 200),
    ("POST", "/api/tasks/{task_id}/comments"):            (401, 404, 403, 201, 201, 201, 403, 201, 201, 403),
    ("GET", "/api/comments/{comment_id}"):                (401, 404, 200, 200, 200, 200, 200, 200, 200, 200),
    ("PUT", "/api/comments/{comment_id}"):                (401, 404, 403, 200, 403, 403, 403, 403, 403, 403),
    ("PATCH", "/api/comments/{comment_id}"):              (401, 404, 403, 200, 403, 403, 403, 403, 403, 403),
    ("DELETE", "/api/comments/{comment_id}"):             (401, 404, 403, 204, 204, 204, 204, 204, 204, 403),
    # attachment service (SPEC §5)
    ("GET", "/api/tasks/{task_id}/attachments"):          (401, 404, 200, 200, 200, 200, 200, 200, 200, 200),
    ("POST", "/api/tasks/{task_id}/attachments"):         (401, 404, 403, 201, 201, 201, 403, 201, 201, 403),
    ("GET", "/api/attachments/{attachment_id}"):          (401, 404, 200, 200, 200, 200, 200, 200, 200, 200),
    ("DELETE", "/api/attachments/{attachment_id}"):       (401, 404, 403, 204, 204, 204, 204, 204, 204, 403),
    ("GET", "/api/attachments/{attachment_id}/download"): (401, 404, 200, 200, 200, 200, 200, 200, 200, 200),
    # notification service (SPEC §7): the notification is the member's, the webhook the owner's
    ("GET", "/api/notifications"):                        (401, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("GET", "/api/notifications/user/{user_id}"):         (401, 403, 403, 200, 403, 403, 200, 403, 403, 403),
    ("POST", "/api/notifications/{notification_id}/read"): (401, 404, 404, 200, 404, 404, 404, 404, 404, 404),
    ("POST", "/api/notifications/read-all"):              (401, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("GET", "/api/notifications/unread-count"):           (401, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("GET", "/api/notifications/preferences"):            (401, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("PUT", "/api/notifications/preferences"):            (401, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("POST", "/api/notifications/send"):                  (401, 403, 403, 403, 403, 403, 202, 403, 403, 403),
    ("GET", "/api/notification-templates"):               (401, 403, 403, 403, 403, 403, 200, 403, 403, 403),
    ("POST", "/api/notification-templates"):              (401, 403, 403, 403, 403, 403, 201, 403, 403, 403),
    ("GET", "/api/notification-templates/{template_id}"): (401, 403, 403, 403, 403, 403, 200, 403, 403, 403),
    ("PUT", "/api/notification-templates/{template_id}"): (401, 403, 403, 403, 403, 403, 200, 403, 403, 403),
    ("DELETE", "/api/notification-templates/{template_id}"): (401, 403, 403, 403, 403, 403, 204, 403, 403, 403),
    ("GET", "/api/webhooks"):                             (401, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("POST", "/api/webhooks"):                            (401, 201, 201, 201, 201, 201, 201, 201, 201, 201),
    ("GET", "/api/webhooks/{webhook_id}"):                (401, 404, 404, 404, 404, 200, 200, 404, 404, 404),
    ("PATCH", "/api/webhooks/{webhook_id}"):              (401, 404, 404, 404, 404, 200, 200, 404, 404, 404),
    ("DELETE", "/api/webhooks/{webhook_id}"):             (401, 404, 404, 404, 404, 204, 204, 404, 404, 404),
    ("GET", "/api/webhooks/{webhook_id}/deliveries"):     (401, 404, 404, 404, 404, 200, 200, 404, 404, 404),
    ("POST", "/api/webhooks/{webhook_id}/test"):          (401, 404, 404, 404, 404, 202, 202, 404, 404, 404),
    # activity-log service (SPEC §8)
    ("GET", "/api/activities"):                           (401, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("GET", "/api/activities/stats"):                     (401, 403, 403, 403, 403, 403, 200, 403, 403, 403),
    ("GET", "/api/activities/export"):                    (401, 403, 403, 403, 403, 403, 200, 403, 403, 403),
    # reporting service (SPEC §9): the report and the schedule are the owner's
    ("GET", "/api/reports/quick/dashboard"):              (401, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("GET", "/api/reports/quick/project-summary/{project_id}"): (401, 404, 200, 200, 200, 200, 200, 200, 200, 200),
    ("GET", "/api/reports"):                              (401, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("POST", "/api/reports"):                             (401, 404, 202, 202, 202, 202, 202, 202, 202, 202),
    ("GET", "/api/reports/{report_id}"):                  (401, 404, 404, 404, 404, 200, 200, 404, 404, 404),
    ("DELETE", "/api/reports/{report_id}"):               (401, 404, 404, 404, 404, 204, 204, 404, 404, 404),
    ("GET", "/api/reports/{report_id}/download"):         (401, 404, 404, 404, 404, 200, 200, 404, 404, 404),
    ("GET", "/api/report-schedules"):                     (401, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("POST", "/api/report-schedules"):                    (401, 404, 201, 201, 201, 201, 201, 201, 201, 201),
    ("GET", "/api/report-schedules/{schedule_id}"):       (401, 404, 404, 404, 404, 200, 200, 404, 404, 404),
    ("DELETE", "/api/report-schedules/{schedule_id}"):    (401, 404, 404, 404, 404, 204, 204, 404, 404, 404),
}
# fmt: on

PUBLIC = {
    ("POST", "/api/register"),
    ("POST", "/api/login"),
    ("POST", "/api/password/forgot"),
    ("POST", "/api/password/reset"),
}
PROJECT_SCOPED_PARAMS = {
    "project_id",
    "task_id",
    "relation_id",
    "comment_id",
    "attachment_id",
    "workspace_id",
}


@dataclass
class World:
    """The accounts and resources the matrix is played against."""

    url: str
    accounts: dict[str, Account]
    clients: dict[str, ApiClient]
    ids: dict[str, int] = field(default_factory=dict)
    built: set[str] = field(default_factory=set)

    def client(self, caller: str = "owner") -> ApiClient:
        return self.clients[caller]

    def as_(self, caller: str, method: str, path: str, **kwargs: Any):
        account = self.accounts.get(caller)
        token = account.access_token if account else None
        return self.clients[caller].request(method, path, token=token, **kwargs)

    def created(self, caller: str, path: str, **kwargs: Any) -> dict:
        response = self.as_(caller, "POST", path, **kwargs)
        assert response.status_code in (201, 202), f"POST {path}: {response.text}"
        return response.json()

    def workspace(self) -> int:
        """A new workspace of the workspace owner with the workspace admin and member."""
        workspace = self.created("ws_owner", "/api/workspaces", json={"name": "Matrix"})
        for caller in ("ws_admin", "ws_member"):
            self.created(
                "ws_owner",
                f"/api/workspaces/{workspace['id']}/members",
                json={"user_id": self.accounts[caller].id, "role": WORKSPACE_CALLERS[caller]},
            )
        return workspace["id"]

    def team_project(self) -> int:
        """A new project of the owner with the viewer, the member and the project admin,
        put in the world's workspace (by a global admin), visible to the workspace."""
        project = self.created("owner", "/api/projects", json={"name": "Matrix"})
        for caller, role in (
            ("viewer", "viewer"),
            ("member", "member"),
            ("project_admin", "admin"),
        ):
            self.created(
                "owner",
                f"/api/projects/{project['id']}/members",
                json={"user_id": self.accounts[caller].id, "role": role},
            )
        placed = self.as_(
            "admin",
            "PATCH",
            f"/api/projects/{project['id']}",
            json={"workspace_id": self.ids["workspace_id"], "visibility": "workspace"},
        )
        assert placed.status_code == 200, placed.text
        return project["id"]

    def task(self, project_id: int) -> int:
        return self.created(
            "owner",
            f"/api/projects/{project_id}/tasks",
            json={"title": "Matrix task", "assignee_id": self.accounts["member"].id},
        )["id"]

    def relation(self) -> int:
        """A relation of the world's task to a new task of its project."""
        other = self.task(self.ids["project_id"])
        path = f"/api/tasks/{self.ids['task_id']}/relations"
        return self.created("owner", path, json={"type": "blocks", "task_id": other})["id"]

    def comment(self) -> int:
        path = f"/api/tasks/{self.ids['task_id']}/comments"
        return self.created("member", path, json={"content": "A comment"})["id"]

    def attachment(self) -> int:
        path = f"/api/tasks/{self.ids['task_id']}/attachments"
        return self.created("member", path, files=upload())["id"]

    def template(self) -> int:
        return self.created("admin", "/api/notification-templates", json=template_body())["id"]

    def webhook(self) -> int:
        return self.created("owner", "/api/webhooks", json=webhook_body())["id"]

    def report(self) -> int:
        return self.created("owner", "/api/reports", json=report_body(self))["id"]

    def schedule(self) -> int:
        return self.created("owner", "/api/report-schedules", json=schedule_body(self))["id"]

    def stranger(self) -> int:
        return ApiClient(self.url).register()["id"]

    def fresh_session(self, caller: str) -> Account:
        """A new login of ``caller`` (from a new address: login is rate-limited per IP)."""
        return ApiClient(self.url).login(self.accounts[caller].username)


def upload() -> dict:
    return {"file": ("notes.txt", b"plain words for the matrix\n", "text/plain")}


def template_body() -> dict:
    name = f"matrix_{random.randint(0, 10**9)}"
    return {"name": name, "subject": "Hello", "body": "Body", "channel": "email"}


def webhook_body() -> dict:
    return {"url": "http://127.0.0.1:9/hook", "event_types": ["task.assigned"]}


def report_body(world: World) -> dict:
    return {"type": "project_summary", "params": {"project_id": world.ids["project_id"]}}


def schedule_body(world: World) -> dict:
    return {**report_body(world), "frequency": "weekly", "weekday": 0, "hour": 6}


# The body of each writing operation, given the world and the caller's account.
BODIES: dict[tuple[str, str], Callable[[World, Account | None], Any]] = {
    ("POST", "/api/register"): lambda w, a: _new_user(),
    ("POST", "/api/login"): lambda w, a: _credentials(a or w.accounts["member"]),
    ("POST", "/api/password/forgot"): lambda w, a: {"email": w.accounts["member"].email},
    ("POST", "/api/password/reset"): lambda w, a: {
        "token": "not-a-reset-token",
        "new_password": "another long password",
    },
    ("PUT", "/api/users/me"): lambda w, a: {
        "email": a.email if a else "x@example.com",
        "full_name": "Matrix",
    },
    ("PATCH", "/api/users/me"): lambda w, a: {"full_name": "Matrix"},
    ("PATCH", "/api/admin/users/{user_id}"): lambda w, a: {"role": "user"},
    ("POST", "/api/projects"): lambda w, a: {"name": "Mine"},
    ("PUT", "/api/projects/{project_id}"): lambda w, a: {"name": "Matrix"},
    ("PATCH", "/api/projects/{project_id}"): lambda w, a: {"description": "Changed"},
    ("PATCH", "/api/projects/{project_id}/members/{user_id}"): lambda w, a: {"role": "viewer"},
    ("POST", "/api/projects/{project_id}/tasks"): lambda w, a: {"title": "Another"},
    ("POST", "/api/tasks/{task_id}/duplicate"): lambda w, a: {"title": "Copy"},
    ("POST", "/api/workspaces"): lambda w, a: {"name": "Theirs"},
    ("PATCH", "/api/workspaces/{workspace_id}"): lambda w, a: {"description": "Changed"},
    ("PATCH", "/api/workspaces/{workspace_id}/members/{user_id}"): lambda w, a: {"role": "member"},
    ("PUT", "/api/tasks/{task_id}"): lambda w, a: {
        "title": "Matrix task",
        "assignee_id": w.accounts["member"].id,
    },
    ("PATCH", "/api/tasks/{task_id}"): lambda w, a: {"priority": "high"},
    ("POST", "/api/tasks/{task_id}/comments"): lambda w, a: {"content": "Me too"},
    ("PUT", "/api/comments/{comment_id}"): lambda w, a: {"content": "Edited"},
    ("PATCH", "/api/comments/{comment_id}"): lambda w, a: {"content": "Edited again"},
    ("PUT", "/api/notifications/preferences"): lambda w, a: {
        "preferences": {"task.assigned": {"in_app": True, "email": True}}
    },
    ("POST", "/api/notifications/send"): lambda w, a: {
        "user_ids": [w.accounts["member"].id],
        "subject": "Matrix",
        "body": "From the matrix",
    },
    ("POST", "/api/notification-templates"): lambda w, a: template_body(),
    ("PUT", "/api/notification-templates/{template_id}"): lambda w, a: template_body(),
    ("POST", "/api/webhooks"): lambda w, a: webhook_body(),
    ("PATCH", "/api/webhooks/{webhook_id}"): lambda w, a: {"description": "Matrix"},
    ("POST", "/api/reports"): lambda w, a: report_body(w),
    ("POST", "/api/report-schedules"): lambda w, a: schedule_body(w),
}

# Path parameters that are not the world's defaults.
PARAMS: dict[tuple[str, str], Callable[[World], dict[str, int]]] = {
    ("GET", "/api/users/{user_id}"): lambda w: {"user_id": w.accounts["owner"].id},
    ("GET", "/api/admin/users/{user_id}"): lambda w: {"user_id": w.accounts["other"].id},
    ("PATCH", "/api/admin/users/{user_id}"): lambda w: {"user_id": w.accounts["other"].id},
    ("GET", "/api/notifications/user/{user_id}"): lambda w: {"user_id": w.accounts["member"].id},
    ("GET", "/api/projects/{project_id}/members/{user_id}"): lambda w: {
        "user_id": w.accounts["viewer"].id
    },
    ("PATCH", "/api/projects/{project_id}/members/{user_id}"): lambda w: {
        "user_id": w.accounts["viewer"].id
    },
    ("GET", "/api/workspaces/{workspace_id}/members/{user_id}"): lambda w: {
        "user_id": w.accounts["ws_member"].id
    },
    ("PATCH", "/api/workspaces/{workspace_id}/members/{user_id}"): lambda w: {
        "user_id": w.accounts["ws_member"].id
    },
}

# Query parameters an operation needs.
QUERIES: dict[tuple[str, str], Callable[[World], dict[str, Any]]] = {
    ("GET", "/api/users"): lambda w: {"ids": f"{w.accounts['owner'].id},{w.accounts['other'].id}"},
}


def _fresh_member(world: World) -> dict[str, int]:
    user_id = world.stranger()
    project_id = world.ids["project_id"]
    body = {"user_id": user_id, "role": "viewer"}
    world.created("owner", f"/api/projects/{project_id}/members", json=body)
    return {"project_id": project_id, "user_id": user_id}


def _fresh_workspace_member(world: World) -> dict[str, int]:
    user_id = world.stranger()
    workspace_id = world.ids["workspace_id"]
    body = {"user_id": user_id, "role": "member"}
    world.created("ws_owner", f"/api/workspaces/{workspace_id}/members", json=body)
    return {"workspace_id": workspace_id, "user_id": user_id}


def _fresh_related_task(world: World) -> dict[str, Any]:
    return {"json": {"type": "relates_to", "task_id": world.task(world.ids["project_id"])}}


# Cells that use something up get their own, made before the call (``json``: the body).
FRESH: dict[tuple[str, str], Callable[[World], dict[str, Any]]] = {
    ("DELETE", "/api/projects/{project_id}"): lambda w: {"project_id": w.team_project()},
    ("POST", "/api/projects/{project_id}/members"): lambda w: {
        "json": {"user_id": w.stranger(), "role": "viewer"}
    },
    ("DELETE", "/api/projects/{project_id}/members/{user_id}"): _fresh_member,
    ("DELETE", "/api/workspaces/{workspace_id}"): lambda w: {"workspace_id": w.workspace()},
    ("POST", "/api/workspaces/{workspace_id}/members"): lambda w: {
        "json": {"user_id": w.stranger(), "role": "member"}
    },
    ("DELETE", "/api/workspaces/{workspace_id}/members/{user_id}"): _fresh_workspace_member,
    ("POST", "/api/tasks/{task_id}/relations"): _fresh_related_task,
    ("DELETE", "/api/tasks/{task_id}/relations/{relation_id}"): lambda w: {
        "relation_id": w.relation()
    },
    ("DELETE", "/api/tasks/{task_id}"): lambda w: {"task_id": w.task(w.ids["project_id"])},
    ("DELETE", "/api/comments/{comment_id}"): lambda w: {"comment_id": w.comment()},
    ("DELETE", "/api/attachments/{attachment_id}"): lambda w: {"attachment_id": w.attachment()},
    ("DELETE", "/api/notification-templates/{template_id}"): lambda w: {
        "template_id": w.template()
    },
    ("DELETE", "/api/webhooks/{webhook_id}"): lambda w: {"webhook_id": w.webhook()},
    ("DELETE", "/api/reports/{report_id}"): lambda w: {"report_id": w.report()},
    ("DELETE", "/api/report-schedules/{schedule_id}"): lambda w: {"schedule_id": w.schedule()},
}

SESSION_ENDING = {("POST", "/api/logout"), ("POST", "/api/token/refresh")}


def _credentials(account: Account) -> dict:
    return {"username": account.username, "password": account.password}


def _new_user() -> dict:
    name = f"matrix{random.randint(0, 10**9)}"
    return {"username": name, "email": f"{name}@example.com", "password": "correct horse battery"}


@pytest.fixture
def world(platform, admin) -> World:
    accounts = {"admin": admin}
    for caller in CALLERS:
        if caller not in ("anonymous", "admin"):
            accounts[caller] = ApiClient(platform.url).account()
    clients = {caller: ApiClient(platform.url) for caller in CALLERS}
    world = World(platform.url, accounts, clients)
    world.built = {service.name for service in stack.built_services()}
    world.ids["workspace_id"] = world.workspace()
    world.ids["project_id"] = world.team_project()
    world.ids["task_id"] = world.task(world.ids["project_id"])
    world.ids["relation_id"] = world.relation()
    if "comment" in world.built:
        world.ids["comment_id"] = world.comment()
    if "attachment" in world.built:
        world.ids["attachment_id"] = world.attachment()
    if "notification" in world.built:
        world.ids["webhook_id"] = world.webhook()
        world.ids["template_id"] = world.template()
        world.ids["notification_id"] = wait_for(lambda: _first_notification(world), timeout=20)
        assert world.ids["notification_id"], "the member was never notified of the assignment"
    if "reporting" in world.built:
        world.ids["report_id"] = world.report()
        world.ids["schedule_id"] = world.schedule()
        assert wait_for(lambda: _report_done(world), timeout=30), "the report never completed"
    return world


def _first_notification(world: World) -> int | None:
    items = world.as_("member", "GET", "/api/notifications").json()["items"]
    return items[0]["id"] if items else None


def _report_done(world: World) -> bool:
    report = world.as_("owner", "GET", f"/api/reports/{world.ids['report_id']}").json()
    return report["status"] == "completed"


def documented_operations(world: World) -> list[tuple[str, str, str]]:
    """(service, METHOD, path) of every operation the built services document."""
    operations = []
    for name in sorted(world.built):
        response = world.client().get(f"/api/docs/{name}/openapi.json")
        assert response.status_code == 200, f"{name} publishes no OpenAPI document"
        for path, item in response.json()["paths"].items():
            for method in item:
                if method in ("get", "post", "put", "patch", "delete"):
                    operations.append((name, method.upper(), path))
    return operations


def play(world: World, method: str, path: str, caller: str) -> int:
    """Call one cell; return the status."""
    key = (method, path)
    params = {**world.ids, **PARAMS.get(key, lambda w: {})(world)}
    fresh = FRESH[key](world) if key in FRESH else {}
    body = fresh.pop("json", None)
    params.update(fresh)
    account = world.accounts.get(caller)
    kwargs: dict[str, Any] = {}
    if key in BODIES:
        kwargs["json"] = BODIES[key](world, account)
    if body is not None:
        kwargs["json"] = body
    if key in QUERIES:
        kwargs["params"] = QUERIES[key](world)
    if key == ("POST", "/api/tasks/{task_id}/attachments"):
        kwargs["files"] = upload()
    token = account.access_token if account else None
    if key in SESSION_ENDING and account:
        session = world.fresh_session(caller)
        token = session.refresh_token if path == "/api/token/refresh" else session.access_token
    client = (
        ApiClient(world.url) if key in PUBLIC or key in SESSION_ENDING else world.client(caller)
    )
    response = client.request(method, path.format(**params), token=token, **kwargs)
    return response.status_code


def test_authorization_matrix_has_no_leaks(world):
    operations = documented_operations(world)
    missing = [f"{m} {p} ({s})" for s, m, p in operations if (m, p) not in MATRIX]
    assert not missing, "operations without a row in MATRIX: " + ", ".join(missing)

    observed: dict[tuple[str, str], tuple[int, ...]] = {}
    for _, method, path in operations:
        observed[(method, path)] = tuple(play(world, method, path, c) for c in CALLERS)

    wrong, leaks = [], []
    for (method, path), statuses in observed.items():
        expected = MATRIX[(method, path)]
        for caller, got, want in zip(CALLERS, statuses, expected, strict=True):
            if got != want:
                wrong.append(f"{method} {path} as {caller}: {got} (expected {want})")
            if 200 <= got < 300 and not 200 <= want < 300:
                leaks.append(f"{method} {path} as {caller}: {got}")
        anonymous, other = statuses[0], statuses[1]
        if (method, path) not in PUBLIC and anonymous != 401:
            leaks.append(f"{method} {path} anonymous: {anonymous} (not 401)")
        if PROJECT_SCOPED_PARAMS & set(_params_of(path)) and other != 404:
            leaks.append(f"{method} {path} outside the project: {other} (not 404)")
    assert not leaks, "leaks:\n" + "\n".join(leaks)
    assert not wrong, f"{len(wrong)} cells differ from MATRIX:\n" + "\n".join(wrong)


def _params_of(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]
