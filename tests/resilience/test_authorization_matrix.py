"""R7 (docs/testing.md): the authorization matrix, 0 leaks.

Every public operation of every built service (walked from the OpenAPI documents the
services publish through nginx, so services not built here have no document and are
never called) is called by each of ten callers against real resources made for the
test: a workspace of the workspace owner with a workspace admin and a workspace member;
in it (put there by a global admin, visible to the workspace) a project with a viewer,
a member and a project admin, a task related to another, a comment and an attachment
of the member (with a share link of theirs), the member's notification, the owner's webhook, an admin's template,
the owner's report and schedule. ``MATRIX`` below is the expected status of every
cell, written from docs/api.md, docs/auth.md and docs/services.md:

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

Token callers play every operation too: personal access tokens of the owner holding
every read scope, of the owner holding every write scope, and of the admin holding every
scope a token can have. Where a token's scopes include the operation's documented
``x-required-scope`` it must get exactly what its account gets with a login session (the
owner's or the admin's column); elsewhere 403 ``insufficient_scope``. So every operation
meets a token that may call it and one that may not.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
import simple_websocket

from scripts import stack
from scripts.toolkit.waiting import wait_for
from services.common.scopes import GRANTABLE
from tests.support.api import PASSWORD, Account, ApiClient

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
# Personal access tokens: the account whose column they answer like, and their scopes.
TOKEN_CALLERS: dict[str, tuple[str, frozenset[str]]] = {
    "owner_reads": ("owner", frozenset(s for s in GRANTABLE if s.endswith(":read"))),
    "owner_writes": ("owner", frozenset(s for s in GRANTABLE if s.endswith(":write"))),
    "admin_everything": ("admin", GRANTABLE),
}
# What a token gets where its scopes would allow it but the operation takes no token.
TOKEN_OVERRIDES = {("POST", "/api/token/refresh"): 401}  # a token is no refresh token

# fmt: off
MATRIX: dict[tuple[str, str], tuple[int, ...]] = {
    #                                                     anon other viewer member padmin owner admin ws_owner ws_admin ws_member
    # user service (docs/auth.md)
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
    # project-task service (docs/services.md)
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
    # workspaces and task relations (docs/services.md)
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
    # board order and watchers: members move cards, anyone who sees a task watches it
    ("POST", "/api/tasks/{task_id}/move"):                (401, 404, 403, 200, 200, 200, 200, 200, 200, 403),
    ("GET", "/api/tasks/{task_id}/watchers"):             (401, 404, 200, 200, 200, 200, 200, 200, 200, 200),
    ("POST", "/api/tasks/{task_id}/watch"):               (401, 404, 200, 200, 200, 200, 200, 200, 200, 200),
    ("DELETE", "/api/tasks/{task_id}/watch"):             (401, 404, 204, 204, 204, 204, 204, 204, 204, 204),
    ("PUT", "/api/tasks/{task_id}/watchers/me"):          (401, 404, 200, 200, 200, 200, 200, 200, 200, 200),
    ("DELETE", "/api/tasks/{task_id}/watchers/me"):       (401, 404, 204, 204, 204, 204, 204, 204, 204, 204),
    # user service: two-step login, tokens, two-factor, sessions, provider sign-in
    ("POST", "/api/login/otp"):                           (401, 401, 401, 401, 401, 401, 401, 401, 401, 401),
    ("GET", "/api/users/me/tokens"):                      (401, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("POST", "/api/users/me/tokens"):                     (401, 201, 201, 201, 201, 201, 201, 201, 201, 201),
    ("GET", "/api/users/me/tokens/{token_id}"):           (401, 404, 404, 404, 404, 200, 404, 404, 404, 404),
    ("DELETE", "/api/users/me/tokens/{token_id}"):        (401, 404, 404, 404, 404, 204, 404, 404, 404, 404),
    ("GET", "/api/admin/users/{user_id}/tokens"):         (401, 403, 403, 403, 403, 403, 200, 403, 403, 403),
    ("GET", "/api/admin/users/{user_id}/tokens/{token_id}"):    (401, 403, 403, 403, 403, 403, 200, 403, 403, 403),
    ("DELETE", "/api/admin/users/{user_id}/tokens/{token_id}"): (401, 403, 403, 403, 403, 403, 204, 403, 403, 403),
    ("GET", "/api/users/me/2fa"):                         (401, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("POST", "/api/users/me/2fa"):                        (401, 201, 201, 201, 201, 201, 201, 201, 201, 201),
    # after the enrolment just started by the row above: a wrong code
    ("POST", "/api/users/me/2fa/confirm"):                (401, 422, 422, 422, 422, 422, 422, 422, 422, 422),
    ("POST", "/api/users/me/2fa/disable"):                (401, 409, 409, 409, 409, 409, 409, 409, 409, 409),
    ("GET", "/api/users/me/sessions"):                    (401, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("GET", "/api/users/me/sessions/{session_id}"):       (401, 404, 404, 404, 404, 200, 404, 404, 404, 404),
    ("DELETE", "/api/users/me/sessions/{session_id}"):    (401, 404, 404, 404, 404, 204, 404, 404, 404, 404),
    ("GET", "/api/auth/oidc/providers"):                  (200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("GET", "/api/auth/oidc/{provider}/login"):           (302, 302, 302, 302, 302, 302, 302, 302, 302, 302),
    ("GET", "/api/auth/oidc/{provider}/callback"):        (422, 422, 422, 422, 422, 422, 422, 422, 422, 422),
    # time tracking (project-task): members log time (not global admins who are no members);
    # the entry is the member's; the author, project admins, owners and global admins change it;
    # each caller's timer is their own (404 for those who have none)
    ("GET", "/api/tasks/{task_id}/time-entries"):         (401, 404, 200, 200, 200, 200, 200, 200, 200, 200),
    ("POST", "/api/tasks/{task_id}/time-entries"):        (401, 404, 403, 201, 201, 201, 403, 201, 201, 403),
    ("GET", "/api/time-entries"):                         (401, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("GET", "/api/time-entries/{entry_id}"):              (401, 404, 200, 200, 200, 200, 200, 200, 200, 200),
    ("PATCH", "/api/time-entries/{entry_id}"):            (401, 404, 403, 200, 200, 200, 200, 200, 200, 403),
    ("DELETE", "/api/time-entries/{entry_id}"):           (401, 404, 403, 204, 204, 204, 204, 204, 204, 403),
    ("GET", "/api/timer"):                                (401, 404, 404, 200, 200, 200, 404, 200, 200, 404),
    ("POST", "/api/timer"):                               (401, 404, 403, 201, 201, 201, 403, 201, 201, 403),
    ("DELETE", "/api/timer"):                             (401, 404, 404, 200, 200, 200, 404, 200, 200, 404),
    # comment service (docs/services.md): authors edit their own, project admins delete any;
    # global admins read and moderate but write only where they are members
    ("GET", "/api/tasks/{task_id}/comments"):             (401, 404, 200, 200, 200, 200, 200, 200, 200, 200),
    ("POST", "/api/tasks/{task_id}/comments"):            (401, 404, 403, 201, 201, 201, 403, 201, 201, 403),
    ("GET", "/api/comments/{comment_id}"):                (401, 404, 200, 200, 200, 200, 200, 200, 200, 200),
    ("PUT", "/api/comments/{comment_id}"):                (401, 404, 403, 200, 403, 403, 403, 403, 403, 403),
    ("PATCH", "/api/comments/{comment_id}"):              (401, 404, 403, 200, 403, 403, 403, 403, 403, 403),
    ("DELETE", "/api/comments/{comment_id}"):             (401, 404, 403, 204, 204, 204, 204, 204, 204, 403),
    # threads and reactions (docs/services.md): readers read a thread; members and up react
    ("GET", "/api/comments/{comment_id}/replies"):        (401, 404, 200, 200, 200, 200, 200, 200, 200, 200),
    ("PUT", "/api/comments/{comment_id}/reactions/{reaction}"):    (401, 404, 403, 200, 200, 200, 403, 200, 200, 403),
    ("DELETE", "/api/comments/{comment_id}/reactions/{reaction}"): (401, 404, 403, 204, 204, 204, 403, 204, 204, 403),
    # attachment service (docs/services.md)
    ("GET", "/api/tasks/{task_id}/attachments"):          (401, 404, 200, 200, 200, 200, 200, 200, 200, 200),
    ("POST", "/api/tasks/{task_id}/attachments"):         (401, 404, 403, 201, 201, 201, 403, 201, 201, 403),
    ("GET", "/api/attachments/{attachment_id}"):          (401, 404, 200, 200, 200, 200, 200, 200, 200, 200),
    ("DELETE", "/api/attachments/{attachment_id}"):       (401, 404, 403, 204, 204, 204, 204, 204, 204, 403),
    ("GET", "/api/attachments/{attachment_id}/download"): (401, 404, 200, 200, 200, 200, 200, 200, 200, 200),
    # versions, share links and storage: members upload, restore and share; anyone who
    # sees the file reads its versions; global admins list and revoke links as moderators;
    # the shared download needs no account at all
    ("GET", "/api/attachments/{attachment_id}/versions"): (401, 404, 200, 200, 200, 200, 200, 200, 200, 200),
    ("POST", "/api/attachments/{attachment_id}/versions"): (401, 404, 403, 201, 201, 201, 403, 201, 201, 403),
    ("GET", "/api/attachments/{attachment_id}/versions/{number}/download"): (401, 404, 200, 200, 200, 200, 200, 200, 200, 200),
    ("POST", "/api/attachments/{attachment_id}/versions/{number}/restore"): (401, 404, 403, 201, 201, 201, 403, 201, 201, 403),
    ("GET", "/api/attachments/{attachment_id}/links"):    (401, 404, 403, 200, 200, 200, 200, 200, 200, 403),
    ("POST", "/api/attachments/{attachment_id}/links"):   (401, 404, 403, 201, 201, 201, 403, 201, 201, 403),
    ("DELETE", "/api/attachments/{attachment_id}/links/{link_id}"): (401, 404, 403, 204, 204, 204, 204, 204, 204, 403),
    ("GET", "/api/files/shared/{token}"):                 (200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("GET", "/api/projects/{project_id}/storage"):        (401, 404, 200, 200, 200, 200, 200, 200, 200, 200),
    # notification service (docs/services.md): the notification is the member's, the webhook the owner's
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
    # live updates (the notification service's stream process): a stream filtered on the
    # team project; 101 is the WebSocket handshake accepted
    ("POST", "/api/stream/tickets"):                      (401, 201, 201, 201, 201, 201, 201, 201, 201, 201),
    ("GET", "/api/stream"):                               (401, 404, 200, 200, 200, 200, 200, 200, 200, 200),
    ("GET", "/api/stream/ws"):                            (401, 404, 101, 101, 101, 101, 101, 101, 101, 101),
    # activity-log service (docs/services.md)
    ("GET", "/api/activities"):                           (401, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("GET", "/api/activities/stats"):                     (401, 403, 403, 403, 403, 403, 200, 403, 403, 403),
    ("GET", "/api/activities/export"):                    (401, 403, 403, 403, 403, 403, 200, 403, 403, 403),
    # reporting service (docs/services.md): the report and the schedule are the owner's
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
    ("GET", "/api/reports/quick/timesheet"):              (401, 404, 200, 200, 200, 200, 200, 200, 200, 200),
}
# fmt: on

PUBLIC = {
    ("POST", "/api/register"),
    ("POST", "/api/login"),
    ("POST", "/api/login/otp"),
    ("POST", "/api/password/forgot"),
    ("POST", "/api/password/reset"),
    ("GET", "/api/auth/oidc/providers"),
    ("GET", "/api/auth/oidc/{provider}/login"),
    ("GET", "/api/auth/oidc/{provider}/callback"),
    ("GET", "/api/files/shared/{token}"),
}
PROJECT_SCOPED_PARAMS = {
    "project_id",
    "task_id",
    "relation_id",
    "comment_id",
    "attachment_id",
    "workspace_id",
    "entry_id",
}


@dataclass
class World:
    """The accounts and resources the matrix is played against."""

    url: str
    accounts: dict[str, Account]
    clients: dict[str, ApiClient]
    ids: dict[str, int | str] = field(default_factory=dict)
    built: set[str] = field(default_factory=set)
    tokens: dict[str, str] = field(default_factory=dict)

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

    def time_entry(self) -> int:
        path = f"/api/tasks/{self.ids['task_id']}/time-entries"
        return self.created("member", path, json=time_entry_body())["id"]

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

    def share_link(self) -> dict:
        path = f"/api/attachments/{self.ids['attachment_id']}/links"
        return self.created("member", path, json={"expires_in": 3600})

    def template(self) -> int:
        return self.created("admin", "/api/notification-templates", json=template_body())["id"]

    def webhook(self) -> int:
        self.prune_webhooks("owner")
        return self.created("owner", "/api/webhooks", json=webhook_body())["id"]

    def prune_webhooks(self, caller: str) -> None:
        """Delete the caller's webhooks other than the world's own, so the many made
        along the matrix stay under WEBHOOKS_MAX_PER_USER."""
        listed = self.as_(caller, "GET", "/api/webhooks", params={"per_page": 100})
        for hook in listed.json()["items"]:
            if hook["id"] != self.ids.get("webhook_id"):
                self.as_(caller, "DELETE", f"/api/webhooks/{hook['id']}")

    def report(self) -> int:
        return self.created("owner", "/api/reports", json=report_body(self))["id"]

    def finished_report(self) -> int:
        """A new report of the owner's, once made: the owner may have only
        REPORTS_MAX_ACTIVE_PER_USER pending or running at once."""
        report_id = self.report()
        assert wait_for(lambda: _report_done(self, report_id), timeout=30), "never completed"
        return report_id

    def schedule(self) -> int:
        return self.created("owner", "/api/report-schedules", json=schedule_body(self))["id"]

    def stranger(self) -> int:
        return ApiClient(self.url).register()["id"]

    def fresh_session(self, caller: str) -> Account:
        """A new login of ``caller`` (from a new address: login is rate-limited per IP)."""
        return ApiClient(self.url).login(self.accounts[caller].username)

    def personal_token(self, caller: str, scopes: frozenset[str]) -> dict:
        body = {"name": "matrix", "scopes": sorted(scopes), "current_password": PASSWORD}
        return self.created(caller, "/api/users/me/tokens", json=body)

    def session_id(self, account: Account) -> str:
        sessions = self.client().get("/api/users/me/sessions", token=account.access_token)
        return next(s["id"] for s in sessions.json()["items"] if s["current"])


def upload() -> dict:
    return {"file": ("notes.txt", b"plain words for the matrix\n", "text/plain")}


def time_entry_body() -> dict:
    return {"spent_on": datetime.now(UTC).date().isoformat(), "minutes": 30}


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
    ("POST", "/api/login/otp"): lambda w, a: {"otp_token": "not-a-sign-in", "code": "123456"},
    ("POST", "/api/users/me/tokens"): lambda w, a: {
        "name": "matrix",
        "scopes": ["tasks:read"],
        "current_password": PASSWORD,
    },
    ("POST", "/api/users/me/2fa"): lambda w, a: {"current_password": PASSWORD},
    ("POST", "/api/users/me/2fa/confirm"): lambda w, a: {"code": "000000"},
    ("POST", "/api/users/me/2fa/disable"): lambda w, a: {
        "current_password": PASSWORD,
        "code": "000000",
    },
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
    ("POST", "/api/tasks/{task_id}/move"): lambda w, a: {},
    ("POST", "/api/workspaces"): lambda w, a: {"name": "Theirs"},
    ("PATCH", "/api/workspaces/{workspace_id}"): lambda w, a: {"description": "Changed"},
    ("PATCH", "/api/workspaces/{workspace_id}/members/{user_id}"): lambda w, a: {"role": "member"},
    ("PUT", "/api/tasks/{task_id}"): lambda w, a: {
        "title": "Matrix task",
        "assignee_id": w.accounts["member"].id,
    },
    ("PATCH", "/api/tasks/{task_id}"): lambda w, a: {"priority": "high"},
    ("POST", "/api/tasks/{task_id}/time-entries"): lambda w, a: time_entry_body(),
    ("PATCH", "/api/time-entries/{entry_id}"): lambda w, a: {"note": "Matrix"},
    ("POST", "/api/timer"): lambda w, a: {"task_id": w.ids["task_id"]},
    ("POST", "/api/tasks/{task_id}/comments"): lambda w, a: {"content": "Me too"},
    ("POST", "/api/attachments/{attachment_id}/links"): lambda w, a: {"expires_in": 600},
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

# Operations that take a multipart upload.
UPLOADS = {
    ("POST", "/api/tasks/{task_id}/attachments"),
    ("POST", "/api/attachments/{attachment_id}/versions"),
}

# Path parameters that are not the world's defaults.
PARAMS: dict[tuple[str, str], Callable[[World], dict[str, int | str]]] = {
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
    ("GET", "/api/admin/users/{user_id}/tokens"): lambda w: {"user_id": w.accounts["owner"].id},
    ("GET", "/api/admin/users/{user_id}/tokens/{token_id}"): lambda w: {
        "user_id": w.accounts["owner"].id
    },
    ("PUT", "/api/comments/{comment_id}/reactions/{reaction}"): lambda w: {"reaction": "heart"},
    ("DELETE", "/api/comments/{comment_id}/reactions/{reaction}"): lambda w: {"reaction": "heart"},
    ("GET", "/api/auth/oidc/{provider}/login"): lambda w: {"provider": "mock"},
    ("GET", "/api/auth/oidc/{provider}/callback"): lambda w: {"provider": "mock"},
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
    ("GET", "/api/reports/quick/timesheet"): lambda w: {"project_id": w.ids["project_id"]},
    ("GET", "/api/stream"): lambda w: {"project_id": w.ids["project_id"]},
    ("GET", "/api/stream/ws"): lambda w: {"project_id": w.ids["project_id"]},
}

# A stream never ends by itself: its cell reads the status and hangs up.
STREAMING = {("GET", "/api/stream")}
WEBSOCKET = ("GET", "/api/stream/ws")


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
    ("DELETE", "/api/time-entries/{entry_id}"): lambda w: {"entry_id": w.time_entry()},
    ("DELETE", "/api/comments/{comment_id}"): lambda w: {"comment_id": w.comment()},
    ("DELETE", "/api/attachments/{attachment_id}"): lambda w: {"attachment_id": w.attachment()},
    ("DELETE", "/api/attachments/{attachment_id}/links/{link_id}"): lambda w: {
        "link_id": w.share_link()["id"]
    },
    ("DELETE", "/api/notification-templates/{template_id}"): lambda w: {
        "template_id": w.template()
    },
    ("DELETE", "/api/webhooks/{webhook_id}"): lambda w: {"webhook_id": w.webhook()},
    # Deliveries to the matrix's dead receiver soon disable a webhook.
    ("POST", "/api/webhooks/{webhook_id}/test"): lambda w: {"webhook_id": w.webhook()},
    ("DELETE", "/api/reports/{report_id}"): lambda w: {"report_id": w.finished_report()},
    ("DELETE", "/api/report-schedules/{schedule_id}"): lambda w: {"schedule_id": w.schedule()},
    ("DELETE", "/api/users/me/tokens/{token_id}"): lambda w: {
        "token_id": w.personal_token("owner", frozenset({"tasks:read"}))["id"]
    },
    ("DELETE", "/api/admin/users/{user_id}/tokens/{token_id}"): lambda w: {
        "user_id": w.accounts["owner"].id,
        "token_id": w.personal_token("owner", frozenset({"tasks:read"}))["id"],
    },
    ("DELETE", "/api/users/me/sessions/{session_id}"): lambda w: {
        "session_id": w.session_id(w.fresh_session("owner"))
    },
}


def _try_a_timer(world: World, caller: str) -> None:
    """Start a timer on the world's task for ``caller``, if they may: each caller's
    timer is their own, so reading or stopping it depends on no other cell."""
    world.as_(caller, "POST", "/api/timer", json={"task_id": world.ids["task_id"]})


# Cells whose caller needs something of their own first.
BEFORE: dict[tuple[str, str], Callable[[World, str], None]] = {
    ("GET", "/api/timer"): _try_a_timer,
    ("DELETE", "/api/timer"): _try_a_timer,
    ("POST", "/api/webhooks"): lambda world, caller: world.prune_webhooks(caller),
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
    clients = {caller: ApiClient(platform.url) for caller in (*CALLERS, *TOKEN_CALLERS)}
    world = World(platform.url, accounts, clients)
    world.built = {service.name for service in stack.built_services()}
    for caller, (account, scopes) in TOKEN_CALLERS.items():
        made = world.personal_token(account, scopes)
        world.tokens[caller] = made["token"]
        if caller == "owner_reads":
            world.ids["token_id"] = made["id"]
    world.ids["session_id"] = world.session_id(accounts["owner"])
    world.ids["workspace_id"] = world.workspace()
    world.ids["project_id"] = world.team_project()
    world.ids["task_id"] = world.task(world.ids["project_id"])
    world.ids["entry_id"] = world.time_entry()
    world.ids["relation_id"] = world.relation()
    if "comment" in world.built:
        world.ids["comment_id"] = world.comment()
    if "attachment" in world.built:
        world.ids["attachment_id"] = world.attachment()
        world.ids["number"] = 1
        world.ids["token"] = world.share_link()["token"]
    if "notification" in world.built:
        world.ids["webhook_id"] = world.webhook()
        world.ids["template_id"] = world.template()
        world.ids["notification_id"] = wait_for(lambda: _first_notification(world), timeout=20)
        assert world.ids["notification_id"], "the member was never notified of the assignment"
    if "reporting" in world.built:
        world.ids["report_id"] = world.report()
        world.ids["schedule_id"] = world.schedule()
        assert wait_for(lambda: _report_done(world, world.ids["report_id"]), timeout=30), (
            "the report never completed"
        )
    return world


def _first_notification(world: World) -> int | None:
    items = world.as_("member", "GET", "/api/notifications").json()["items"]
    return items[0]["id"] if items else None


def _report_done(world: World, report_id: int) -> bool:
    report = world.as_("owner", "GET", f"/api/reports/{report_id}").json()
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
    """Call one cell; return the status. A token caller acts with its personal access
    token, its account's bodies and resources."""
    key = (method, path)
    params = {**world.ids, **PARAMS.get(key, lambda w: {})(world)}
    fresh = FRESH[key](world) if key in FRESH else {}
    body = fresh.pop("json", None)
    params.update(fresh)
    personal_token = world.tokens.get(caller)
    acting = TOKEN_CALLERS[caller][0] if personal_token else caller
    if key in BEFORE and acting in world.accounts:
        BEFORE[key](world, acting)
    account = world.accounts.get(acting)
    kwargs: dict[str, Any] = {"allow_redirects": False}
    if key in BODIES:
        kwargs["json"] = BODIES[key](world, account)
    if body is not None:
        kwargs["json"] = body
    if key in QUERIES:
        kwargs["params"] = QUERIES[key](world)
    if key in UPLOADS:
        kwargs["files"] = upload()
    token = account.access_token if account else None
    if key in SESSION_ENDING and account and not personal_token:
        session = world.fresh_session(caller)
        token = session.refresh_token if path == "/api/token/refresh" else session.access_token
    token = personal_token or token
    client = (
        ApiClient(world.url) if key in PUBLIC or key in SESSION_ENDING else world.client(caller)
    )
    if key == WEBSOCKET:
        return websocket_status(world.url + path, token, kwargs["params"])
    if key in STREAMING:
        kwargs["stream"] = True
    response = client.request(method, path.format(**params), token=token, **kwargs)
    response.close()
    return response.status_code


def websocket_status(url: str, token: str | None, params: dict[str, Any]) -> int:
    """The status a WebSocket handshake gets: 101 when accepted (then closed)."""
    query = "&".join(f"{name}={value}" for name, value in params.items())
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        ws = simple_websocket.Client.connect(
            f"{url.replace('http://', 'ws://')}?{query}", headers=headers
        )
    except simple_websocket.ConnectionError as exc:
        return int(exc.status_code)
    ws.close()
    return 101


def test_authorization_matrix_has_no_leaks(world):
    operations = documented_operations(world)
    missing = [f"{m} {p} ({s})" for s, m, p in operations if (m, p) not in MATRIX]
    assert not missing, "operations without a row in MATRIX: " + ", ".join(missing)

    observed: dict[tuple[str, str], tuple[int, ...]] = {}
    for _, method, path in operations:
        observed[(method, path)] = tuple(play(world, method, path, c) for c in CALLERS)
    scopes = required_scopes(world)
    tokens_observed = {
        (method, path): {caller: play(world, method, path, caller) for caller in TOKEN_CALLERS}
        for _, method, path in operations
    }

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
    for key, statuses in tokens_observed.items():
        for caller, got in statuses.items():
            want = token_expectation(key, caller, scopes.get(key))
            if got != want:
                wrong.append(f"{key[0]} {key[1]} as {caller}: {got} (expected {want})")
            if 200 <= got < 300 and not 200 <= want < 300:
                leaks.append(f"{key[0]} {key[1]} as {caller}: {got}")
    assert not leaks, "leaks:\n" + "\n".join(leaks)
    assert not wrong, f"{len(wrong)} cells differ from MATRIX:\n" + "\n".join(wrong)


def required_scopes(world: World) -> dict[tuple[str, str], str | None]:
    """Each operation's documented scope (None: public)."""
    found = {}
    for name in sorted(world.built):
        document = world.client().get(f"/api/docs/{name}/openapi.json").json()
        for path, item in document["paths"].items():
            for method, operation in item.items():
                if method in ("get", "post", "put", "patch", "delete"):
                    found[(method.upper(), path)] = operation.get("x-required-scope")
    return found


def token_expectation(key: tuple[str, str], caller: str, scope: str | None) -> int:
    """What a token caller must get: its account's cell where its scopes allow the
    operation (or the operation is public), else 403 insufficient_scope."""
    account, held = TOKEN_CALLERS[caller]
    if key in TOKEN_OVERRIDES:
        return TOKEN_OVERRIDES[key]
    if scope is not None and scope not in held:
        return 403
    return MATRIX[key][CALLERS.index(account)]


def _params_of(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]
