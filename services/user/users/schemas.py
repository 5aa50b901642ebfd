"""Schemas for accounts as the API shows them."""

import marshmallow as ma
from marshmallow import validate

from services.common.pagination import PageArgsSchema, page_schema
from services.user.models import ROLES

USERNAME = validate.Regexp(
    r"^[A-Za-z0-9_.-]{3,32}$",
    error="Use 3 to 32 letters, digits, '.', '_' or '-'.",
)
PASSWORD = validate.Length(min=8, max=128)


class UserSchema(ma.Schema):
    """A full account, as its owner and admins see it."""

    id = ma.fields.Integer(dump_only=True)
    username = ma.fields.String()
    email = ma.fields.Email()
    full_name = ma.fields.String(allow_none=True)
    role = ma.fields.String()
    is_active = ma.fields.Boolean()
    created_at = ma.fields.DateTime()
    last_login_at = ma.fields.DateTime(allow_none=True)


class PublicUserSchema(ma.Schema):
    """What any signed-in user may see of another."""

    id = ma.fields.Integer()
    username = ma.fields.String()
    full_name = ma.fields.String(allow_none=True)


class PublicUserListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(PublicUserSchema))


class MeReplaceSchema(ma.Schema):
    """PUT /users/me: the editable fields, all given."""

    email = ma.fields.Email(required=True, validate=validate.Length(max=254))
    full_name = ma.fields.String(required=True, allow_none=True, validate=validate.Length(max=120))
    password = ma.fields.String(load_only=True, validate=PASSWORD)
    current_password = ma.fields.String(
        load_only=True,
        validate=validate.Length(max=128),
        metadata={
            "description": "Required to change the e-mail or the password; each wrong one "
            "counts towards the lockout (429 account_locked)."
        },
    )


class MeUpdateSchema(MeReplaceSchema):
    """PATCH /users/me: any of the editable fields."""

    email = ma.fields.Email(validate=validate.Length(max=254))
    full_name = ma.fields.String(allow_none=True, validate=validate.Length(max=120))


class IdList(ma.fields.Field):
    """A comma-separated list of positive integers (``?ids=1,2,3``)."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            ids = [int(part) for part in str(value).split(",") if part.strip()]
        except ValueError as exc:
            raise ma.ValidationError("Give comma-separated integer ids.") from exc
        if not ids or len(ids) > 200 or any(i < 1 for i in ids):
            raise ma.ValidationError("Give 1 to 200 positive integer ids.")
        return ids


class UserIdsArgsSchema(ma.Schema):
    ids = IdList(required=True, metadata={"type": "string", "example": "1,2,3"})


class AdminUserArgsSchema(PageArgsSchema):
    q = ma.fields.String(
        validate=validate.Length(max=100), metadata={"description": "Search username, e-mail, name"}
    )
    role = ma.fields.String(validate=validate.OneOf(ROLES))
    is_active = ma.fields.Boolean()
    sort = ma.fields.String(
        load_default="id",
        validate=validate.OneOf(
            [
                "id",
                "-id",
                "username",
                "-username",
                "created_at",
                "-created_at",
                "last_login_at",
                "-last_login_at",
            ]
        ),
    )


AdminUserPageSchema = page_schema(UserSchema, "AdminUserPageSchema")


class AdminUserUpdateSchema(ma.Schema):
    role = ma.fields.String(validate=validate.OneOf(ROLES))
    is_active = ma.fields.Boolean()

    @ma.validates_schema
    def _not_empty(self, data, **kwargs):
        if not data:
            raise ma.ValidationError("Give role and/or is_active.")
