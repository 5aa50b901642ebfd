"""Schemas for workspaces and their members as the API shows and takes them."""

import marshmallow as ma
from marshmallow import validate

from services.common.contracts import WORKSPACE_ROLES
from services.common.pagination import PageArgsSchema, page_schema
from services.common.query_args import SortField
from services.project_task.fields import title, user_id_field

GRANTABLE_WORKSPACE_ROLES = ("admin", "member")


class WorkspaceSchema(ma.Schema):
    """A workspace, with the caller's role in it and its number of members."""

    id = ma.fields.Integer()
    name = ma.fields.String()
    description = ma.fields.String(allow_none=True)
    owner_id = ma.fields.Integer()
    my_role = ma.fields.String(
        allow_none=True,
        metadata={
            "enum": list(WORKSPACE_ROLES),
            "description": "Null for a global admin who is no member",
        },
    )
    member_count = ma.fields.Integer()
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class WorkspaceEventSchema(WorkspaceSchema):
    """A workspace as events carry it (nothing specific to the caller)."""

    class Meta:
        exclude = ("my_role", "member_count")


class WorkspaceCreateSchema(ma.Schema):
    """A new workspace; you become its owner."""

    name = ma.fields.String(required=True, validate=title())
    description = ma.fields.String(
        allow_none=True, load_default=None, validate=validate.Length(max=10_000)
    )


class WorkspaceUpdateSchema(ma.Schema):
    """PATCH: any of the editable fields."""

    name = ma.fields.String(validate=title())
    description = ma.fields.String(allow_none=True, validate=validate.Length(max=10_000))

    @ma.validates_schema
    def _not_empty(self, data, **kwargs):
        if not data:
            raise ma.ValidationError("Give at least one field to change.")


class WorkspaceListArgsSchema(PageArgsSchema):
    all = ma.fields.Boolean(
        load_default=False, metadata={"description": "Every workspace (global admins only)"}
    )
    q = ma.fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={"description": "Case-insensitive search in the name"},
    )
    sort = SortField(("name", "created_at", "updated_at"), default="name")


class WorkspaceMemberSchema(ma.Schema):
    """A user's role in a workspace."""

    workspace_id = ma.fields.Integer()
    user_id = ma.fields.Integer()
    role = ma.fields.String(metadata={"enum": list(WORKSPACE_ROLES)})
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class WorkspaceMemberCreateSchema(ma.Schema):
    """Add a user to the workspace (ownership is only handed over, never granted)."""

    user_id = user_id_field(required=True)
    role = ma.fields.String(
        load_default="member", validate=validate.OneOf(GRANTABLE_WORKSPACE_ROLES)
    )


class WorkspaceMemberUpdateSchema(ma.Schema):
    """Change a member's role; ``owner`` hands ownership over (the owner only), and the
    previous owner becomes an admin."""

    role = ma.fields.String(required=True, validate=validate.OneOf(WORKSPACE_ROLES))


WorkspacePageSchema = page_schema(WorkspaceSchema, "WorkspacePageSchema")
WorkspaceMemberPageSchema = page_schema(WorkspaceMemberSchema, "WorkspaceMemberPageSchema")
