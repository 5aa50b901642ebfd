"""Schemas for projects as the API shows and takes them."""

import marshmallow as ma
from marshmallow import validate

from services.common.contracts import PRIORITIES, PROJECT_STATUSES, ROLES
from services.common.pagination import PageArgsSchema, page_schema
from services.common.query_args import CommaList, SortField
from services.project_task.fields import CalendarDate, title

PROJECT_SORT_FIELDS = (
    "name",
    "status",
    "priority",
    "start_date",
    "end_date",
    "created_at",
    "updated_at",
)


class ProjectSchema(ma.Schema):
    """A project, with the caller's role in it and its number of tasks."""

    id = ma.fields.Integer()
    name = ma.fields.String()
    description = ma.fields.String(allow_none=True)
    status = ma.fields.String(metadata={"enum": list(PROJECT_STATUSES)})
    priority = ma.fields.String(metadata={"enum": list(PRIORITIES)})
    start_date = CalendarDate(allow_none=True)
    end_date = CalendarDate(allow_none=True)
    owner_id = ma.fields.Integer()
    my_role = ma.fields.String(
        allow_none=True,
        metadata={"enum": list(ROLES), "description": "Null for a global admin who is no member"},
    )
    task_count = ma.fields.Integer()
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class ProjectEventSchema(ProjectSchema):
    """A project as events carry it (nothing specific to the caller)."""

    class Meta:
        exclude = ("my_role", "task_count")


class ProjectReplaceSchema(ma.Schema):
    """POST and PUT: every editable field; an omitted one takes its default."""

    name = ma.fields.String(required=True, validate=title())
    description = ma.fields.String(
        allow_none=True, load_default=None, validate=validate.Length(max=10_000)
    )
    status = ma.fields.String(load_default="active", validate=validate.OneOf(PROJECT_STATUSES))
    priority = ma.fields.String(load_default="medium", validate=validate.OneOf(PRIORITIES))
    start_date = CalendarDate(allow_none=True, load_default=None)
    end_date = CalendarDate(allow_none=True, load_default=None)


class ProjectUpdateSchema(ma.Schema):
    """PATCH: any of the editable fields."""

    name = ma.fields.String(validate=title())
    description = ma.fields.String(allow_none=True, validate=validate.Length(max=10_000))
    status = ma.fields.String(validate=validate.OneOf(PROJECT_STATUSES))
    priority = ma.fields.String(validate=validate.OneOf(PRIORITIES))
    start_date = CalendarDate(allow_none=True)
    end_date = CalendarDate(allow_none=True)

    @ma.validates_schema
    def _not_empty(self, data, **kwargs):
        if not data:
            raise ma.ValidationError("Give at least one field to change.")


class ProjectListArgsSchema(PageArgsSchema):
    all = ma.fields.Boolean(
        load_default=False, metadata={"description": "Every project (global admins only)"}
    )
    status = CommaList(choices=PROJECT_STATUSES)
    q = ma.fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={"description": "Case-insensitive search in the name"},
    )
    sort = SortField(PROJECT_SORT_FIELDS, default="name")


ProjectPageSchema = page_schema(ProjectSchema, "ProjectPageSchema")
