"""Schemas for project members as the API shows and takes them."""

import marshmallow as ma
from marshmallow import validate

from services.common.contracts import ROLES
from services.common.pagination import page_schema
from services.project_task.fields import user_id_field

GRANTABLE_ROLES = ("admin", "member", "viewer")


class MemberSchema(ma.Schema):
    """A user's role in a project."""

    project_id = ma.fields.Integer()
    user_id = ma.fields.Integer()
    role = ma.fields.String(metadata={"enum": list(ROLES)})
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class MemberCreateSchema(ma.Schema):
    """Add a user to the project (ownership is only handed over, never granted)."""

    user_id = user_id_field(required=True)
    role = ma.fields.String(load_default="member", validate=validate.OneOf(GRANTABLE_ROLES))


class MemberUpdateSchema(ma.Schema):
    """Change a member's role; ``owner`` hands ownership over (the owner only), and the
    previous owner becomes an admin."""

    role = ma.fields.String(required=True, validate=validate.OneOf(ROLES))


MemberPageSchema = page_schema(MemberSchema, "MemberPageSchema")
