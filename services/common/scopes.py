"""Scopes: what a credential may do, per resource family and verb. Defined here once.

A login session (a JWT from ``/api/login`` or a provider sign-in) holds every scope; a
personal access token holds the scopes its owner gave it. Every endpoint declares the
scope it needs, with :func:`services.common.auth.require_auth`:

- ``require_auth(scope="tasks")``: a family; a read (GET, HEAD) needs ``tasks:read``,
  any other method ``tasks:write``;
- ``require_auth(scope="reports:read")``, ``scope=SESSION``, ``scope=SIGNED_IN``: exactly
  that scope, whatever the method;
- ``require_auth(admin=True)``: the ``admin`` scope and the admin role.

A caller without the scope gets 403 ``insufficient_scope`` with ``WWW-Authenticate:
Bearer error="insufficient_scope", scope="..."``. An endpoint that declares none needs
:data:`SESSION`, so a new endpoint is closed to tokens until it declares its scope (and
``tests/common/test_scopes.py`` fails for it). :class:`RequiredScopePlugin` writes each
operation's scope into the OpenAPI document as ``x-required-scope``, read from the same
declaration the check uses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from apispec import BasePlugin
from flask import Flask

ADMIN = "admin"
# Held by login sessions only (never by a personal access token): managing tokens and
# sessions, changing the password or the e-mail.
SESSION = "session"
# Held by every login session, also the restricted one of an admin who must enrol in
# two-factor first (REQUIRE_2FA_FOR_ADMINS): two-factor set-up and logout.
SIGNED_IN = "signed_in"

# What a personal access token may be given, and what each scope allows.
SCOPES: Mapping[str, str] = {
    "projects:read": "Read projects and workspaces, and their members.",
    "projects:write": "Create, change and delete projects and workspaces, and their members.",
    "tasks:read": "Read tasks.",
    "tasks:write": "Create, change and delete tasks.",
    "time:read": "Read time entries, your timer and timesheets' entries.",
    "time:write": "Log, change and delete time entries; start and stop your timer.",
    "comments:read": "Read comments.",
    "comments:write": "Write, edit and delete comments.",
    "attachments:read": "List and download files.",
    "attachments:write": "Upload and delete files.",
    "notifications:read": "Read your notifications and preferences.",
    "notifications:write": "Mark notifications read and change preferences.",
    "webhooks:read": "Read your webhooks and their deliveries.",
    "webhooks:write": "Create, change, test and delete your webhooks.",
    "activities:read": "Read the activity feed.",
    "reports:read": "Read reports, dashboards and report schedules; download reports.",
    "reports:write": "Request and delete reports; create and delete report schedules.",
    "users:read": "Read your account and other users' public profiles.",
    "users:write": "Change your name (the e-mail and password need a login session).",
    ADMIN: "Use an admin account's admin role (admin endpoints, and admin powers "
    "elsewhere). Only an admin can give it to a token.",
}
GRANTABLE = frozenset(SCOPES)
SESSION_SCOPES = GRANTABLE | {SESSION, SIGNED_IN}
FAMILIES = frozenset(scope.split(":")[0] for scope in SCOPES if ":" in scope)
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# The attribute :func:`~services.common.auth.require_auth` leaves on what it decorates.
REQUIREMENT_ATTRIBUTE = "auth_requirement"


@dataclass(frozen=True)
class AuthRequirement:
    """What an endpoint declared: a scope or a family (None: nothing declared), and
    whether it needs the admin role."""

    scope: str | None = None
    admin: bool = False

    def __post_init__(self) -> None:
        if self.scope is not None and self.scope not in SESSION_SCOPES | FAMILIES:
            raise ValueError(f"unknown scope or family {self.scope!r} (see services.common.scopes)")

    def needed(self, method: str) -> str:
        """The scope a request with ``method`` needs."""
        if self.scope is None:
            return SESSION
        if self.scope in FAMILIES:
            verb = "read" if method.upper() in READ_METHODS else "write"
            return f"{self.scope}:{verb}"
        return self.scope


def requirement_of(view_function: Any, method: str) -> AuthRequirement | None:
    """What a Flask view function (a MethodView's, or a plain one) declared for
    ``method``: on the method itself, else among the class's ``decorators``."""
    view_class = getattr(view_function, "view_class", None)
    if view_class is None:
        return getattr(view_function, REQUIREMENT_ATTRIBUTE, None)
    handler = getattr(view_class, method.lower(), None)
    found = getattr(handler, REQUIREMENT_ATTRIBUTE, None)
    if found is not None:
        return found
    for decorator in getattr(view_class, "decorators", ()):
        found = getattr(decorator, REQUIREMENT_ATTRIBUTE, None)
        if found is not None:
            return found
    return None


class RequiredScopePlugin(BasePlugin):
    """Documents each authenticated operation's scope as ``x-required-scope`` (and in
    its description), from the declaration :func:`requirement_of` finds."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def operation_helper(self, path=None, operations=None, **kwargs) -> None:
        rule = kwargs.get("rule")
        view_function = self.app.view_functions.get(rule.endpoint) if rule else None
        for method, operation in (operations or {}).items():
            if operation.get("security") == [] or "x-required-scope" in operation:
                continue
            requirement = requirement_of(view_function, method)
            if requirement is None or requirement.scope is None:
                continue  # undeclared: tests/common/test_scopes.py names it
            scope = requirement.needed(method)
            operation["x-required-scope"] = scope
            note = f"Needs the `{scope}` scope" + (
                " and the admin role." if requirement.admin else "."
            )
            operation["description"] = "\n\n".join(
                part for part in (operation.get("description"), note) if part
            )
