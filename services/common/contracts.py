"""What crosses between services, defined once: the shared vocabularies and the answers
of the ``/internal`` endpoints.

The producer dumps its answer with the schema here; the consumer loads it with the same
schema through :func:`services.common.http.call_service`. A contract ignores fields it
does not know (a producer may add one first) and needs every field it declares unless
the field says otherwise, so a consumer never indexes a key that is not there. The
report figures are in :mod:`services.common.report_contract`.

The event envelope (docs/events.md) is here too: :func:`services.common.events.build_envelope`
dumps it with :class:`EnvelopeSchema`, every consumer loads it with the same schema
(:func:`services.common.consumers.parse_envelope`).
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma

PROJECT_STATUSES = ("active", "completed", "archived")
PRIORITIES = ("low", "medium", "high", "critical")
TASK_STATUSES = ("todo", "in_progress", "in_review", "done", "cancelled")
# A task in one of these is no longer open (and never overdue).
CLOSED_STATUSES = ("done", "cancelled")
# Project roles, weakest first: a role may do everything the roles before it may.
ROLES = ("viewer", "member", "admin", "owner")
ROLE_RANK = {role: rank for rank, role in enumerate(ROLES)}


# Every event type a service records (docs/events.md describes each). A new type joins
# this list, which the live stream's type filter is checked against.
EVENT_TYPES = (
    "user.registered",
    "user.login",
    "user.logout",
    "user.updated",
    "user.password_reset_requested",
    "user.password_reset",
    "user.email_changed",
    "user.token_created",
    "user.token_revoked",
    "user.two_factor_enabled",
    "user.two_factor_disabled",
    "user.session_revoked",
    "user.oidc_linked",
    "project.created",
    "project.updated",
    "project.deleted",
    "project.member_added",
    "project.member_updated",
    "project.member_removed",
    "workspace.created",
    "workspace.updated",
    "workspace.deleted",
    "workspace.member_added",
    "workspace.member_updated",
    "workspace.member_removed",
    "task.created",
    "task.updated",
    "task.assigned",
    "task.status_changed",
    "task.deleted",
    "task.relation_added",
    "task.relation_removed",
    "task.moved",
    "task.watched",
    "task.unwatched",
    "comment.created",
    "comment.mentioned",
    "comment.updated",
    "comment.deleted",
    "comment.replied",
    "comment.reaction_added",
    "comment.reaction_removed",
    "attachment.uploaded",
    "attachment.deleted",
    "attachment.version_uploaded",
    "attachment.version_restored",
    "attachment.link_created",
    "attachment.link_revoked",
    "time_entry.created",
    "time_entry.updated",
    "time_entry.deleted",
    "timer.started",
    "timer.stopped",
    "report.completed",
    "report.failed",
)

# Workspace roles, weakest first. Workspace admins (and the owner) act as admins of every
# project in the workspace; members see its projects whose visibility is "workspace".
WORKSPACE_ROLES = ("member", "admin", "owner")
WORKSPACE_ROLE_RANK = {role: rank for rank, role in enumerate(WORKSPACE_ROLES)}
# Who sees a project: its members only, or every member of its workspace too.
PROJECT_VISIBILITIES = ("private", "workspace")
# What one task is to another, as stored (``blocks``: the target cannot be done while
# the source is open) and as shown from the other side.
RELATION_TYPES = ("blocks", "relates_to", "duplicates")
RELATION_INVERSES = {
    "blocks": "blocked_by",
    "relates_to": "relates_to",
    "duplicates": "duplicated_by",
}


def role_at_least(role: str | None, needed: str) -> bool:
    """Whether project role ``role`` (None: no member) is ``needed`` or stronger."""
    return role is not None and ROLE_RANK[role] >= ROLE_RANK[needed]


def workspace_role_at_least(role: str | None, needed: str) -> bool:
    """Whether workspace role ``role`` (None: no member) is ``needed`` or stronger."""
    return role is not None and WORKSPACE_ROLE_RANK[role] >= WORKSPACE_ROLE_RANK[needed]


class IsoDate(ma.fields.Date):
    """A ``YYYY-MM-DD`` date, loaded as a ``date``; dumped from a ``date`` or passed
    through as the string it already is (reporting's quick views serve figures they
    dumped and cached before)."""

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
        if isinstance(value, str):
            return value
        return super()._serialize(value, attr, obj, **kwargs)


class Contract(ma.Schema):
    """A payload between services: unknown fields ignored, every field required on load
    unless it has a ``load_default``."""

    class Meta:
        unknown = ma.EXCLUDE

    def on_bind_field(self, field_name: str, field_obj: ma.fields.Field) -> None:
        if field_obj.load_default is ma.missing:
            field_obj.required = True


class ProjectAccessSchema(Contract):
    """``GET project-task /internal/projects/{id}/access?user_id=`` (404: the user cannot
    see it). ``role`` is the effective one: a workspace admin's is ``admin``, a workspace
    member's on a workspace-visible project ``viewer``."""

    project_id = ma.fields.Integer()
    role = ma.fields.String(validate=ma.validate.OneOf(ROLES))


class WorkspaceAccessSchema(Contract):
    """``GET project-task /internal/workspaces/{id}/access?user_id=`` (404: no member)."""

    workspace_id = ma.fields.Integer()
    role = ma.fields.String(validate=ma.validate.OneOf(WORKSPACE_ROLES))


class TaskSummarySchema(Contract):
    id = ma.fields.Integer()
    title = ma.fields.String()
    assignee_id = ma.fields.Integer(allow_none=True, load_default=None)
    reporter_id = ma.fields.Integer(allow_none=True, load_default=None)


class TaskAccessSchema(ProjectAccessSchema):
    """``GET project-task /internal/tasks/{id}/access?user_id=`` (404: missing task or
    no member): the project, the role and who the task concerns."""

    task = ma.fields.Nested(TaskSummarySchema)


class MemberSchema(Contract):
    user_id = ma.fields.Integer()
    role = ma.fields.String(validate=ma.validate.OneOf(ROLES))


class MemberListSchema(Contract):
    """``GET project-task /internal/projects/{id}/members`` (404: no such project)."""

    items = ma.fields.List(ma.fields.Nested(MemberSchema))


class WatcherSchema(Contract):
    user_id = ma.fields.Integer()


class WatcherListSchema(Contract):
    """``GET project-task /internal/tasks/{id}/watchers`` (404: no such task): the users
    watching a task who can still see its project."""

    items = ma.fields.List(ma.fields.Nested(WatcherSchema))


class MembershipSchema(Contract):
    project_id = ma.fields.Integer()
    role = ma.fields.String(validate=ma.validate.OneOf(ROLES))


class MembershipListSchema(Contract):
    """``GET project-task /internal/users/{id}/projects``: every project of a user."""

    items = ma.fields.List(ma.fields.Nested(MembershipSchema))


class TaskLineSchema(Contract):
    """A task as a line of a list: the reports' task lists, the tasks due soon."""

    id = ma.fields.Integer()
    title = ma.fields.String()
    project_id = ma.fields.Integer()
    status = ma.fields.String(validate=ma.validate.OneOf(TASK_STATUSES))
    priority = ma.fields.String(validate=ma.validate.OneOf(PRIORITIES))
    assignee_id = ma.fields.Integer(allow_none=True)
    due_date = IsoDate(allow_none=True)


class DueTaskSchema(TaskLineSchema):
    """A task due soon: its due date is passed on as the producer wrote it (only a label
    in the reminder), so a timestamp is taken as it is."""

    class Meta(TaskLineSchema.Meta):
        exclude = ("status", "priority")

    due_date = ma.fields.String()


class DueTaskListSchema(Contract):
    """``GET project-task /internal/tasks/due-soon?hours=``: open, assigned tasks due
    within the window."""

    items = ma.fields.List(ma.fields.Nested(DueTaskSchema))


class UserSchema(Contract):
    id = ma.fields.Integer()
    username = ma.fields.String()
    email = ma.fields.String()
    full_name = ma.fields.String(allow_none=True)
    role = ma.fields.String()
    is_active = ma.fields.Boolean()


class UserListSchema(Contract):
    """``GET user /internal/users?ids=1,2`` (or ``?usernames=a,b``): at most 500 users;
    unknown ones are absent."""

    items = ma.fields.List(ma.fields.Nested(UserSchema))


class ExpiringTokenSchema(Contract):
    """A personal access token about to expire, as its owner is told about it."""

    id = ma.fields.Integer()
    user_id = ma.fields.Integer()
    name = ma.fields.String()
    prefix = ma.fields.String()
    expires_at = ma.fields.AwareDateTime()


class ExpiringTokenListSchema(Contract):
    """``GET user /internal/tokens/expiring?hours=72``: live personal access tokens of
    active accounts expiring within the window, soonest first (at most 1,000)."""

    items = ma.fields.List(ma.fields.Nested(ExpiringTokenSchema))


class _ActorSchema(ma.Schema):
    id = ma.fields.Integer(allow_none=True, load_default=None)
    username = ma.fields.String(allow_none=True, load_default=None)


class _EntitySchema(ma.Schema):
    type = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=32))
    id = ma.fields.Integer(allow_none=True, load_default=None)


class ClientMetaSchema(ma.Schema):
    """The client's address and user agent (the envelope's ``meta``, recorded by
    ``services.common.events.record_event``); consumers normalise the address with
    ``events.ip_or_none``."""

    class Meta:
        unknown = ma.EXCLUDE

    ip = ma.fields.String(allow_none=True, load_default=None)
    user_agent = ma.fields.String(allow_none=True, load_default=None)


class EnvelopeSchema(ma.Schema):
    """A domain event: who did what to which entity, in which project, when, with the
    event's data and the changed fields ``{field: [old, new]}``."""

    class Meta:
        unknown = ma.EXCLUDE

    event_id = ma.fields.UUID(required=True)
    type = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64))
    occurred_at = ma.fields.AwareDateTime(required=True)
    actor = ma.fields.Nested(_ActorSchema, allow_none=True, load_default=None)
    project_id = ma.fields.Integer(allow_none=True, load_default=None)
    entity = ma.fields.Nested(_EntitySchema, required=True)
    data = ma.fields.Dict(keys=ma.fields.String(), allow_none=True, load_default=None)
    changes = ma.fields.Dict(keys=ma.fields.String(), allow_none=True, load_default=None)
    request_id = ma.fields.String(
        allow_none=True, load_default=None, validate=ma.validate.Length(max=128)
    )
    meta = ma.fields.Nested(ClientMetaSchema, allow_none=True)
