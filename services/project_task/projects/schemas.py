"""Schemas for projects as the API shows and takes them."""

import marshmallow as ma
from marshmallow import validate

from services.common.contracts import PRIORITIES, PROJECT_STATUSES, PROJECT_VISIBILITIES, ROLES
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
    workspace_id = ma.fields.Integer(allow_none=True)
    visibility = ma.fields.String(metadata={"enum": list(PROJECT_VISIBILITIES)})
    is_template = ma.fields.Boolean()
    my_role = ma.fields.String(
        allow_none=True,
        metadata={
            "enum": list(ROLES),
            "description": "Your effective role (workspace admins: admin; workspace members "
            "on a workspace-visible project: viewer); null for a global admin who is none",
        },
    )
    task_count = ma.fields.Integer()
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class ProjectEventSchema(ProjectSchema):
    """A project as events carry it (nothing specific to the caller)."""

    class Meta:
        exclude = ("my_role", "task_count")


VISIBILITY = (
    "private: its members only; workspace: also every member of its workspace, as "
    "viewers (only inside a workspace)"
)
WORKSPACE_ID = "The workspace the project belongs to (its admins only; null: none)"


class ProjectReplaceSchema(ma.Schema):
    """PUT: every descriptive field; an omitted one takes its default. Where the project
    sits (workspace_id, visibility) and is_template change with PATCH only."""

    name = ma.fields.String(required=True, validate=title())
    description = ma.fields.String(
        allow_none=True, load_default=None, validate=validate.Length(max=10_000)
    )
    status = ma.fields.String(load_default="active", validate=validate.OneOf(PROJECT_STATUSES))
    priority = ma.fields.String(load_default="medium", validate=validate.OneOf(PRIORITIES))
    start_date = CalendarDate(allow_none=True, load_default=None)
    end_date = CalendarDate(allow_none=True, load_default=None)


class ProjectCreateSchema(ProjectReplaceSchema):
    """POST: the descriptive fields, where the project sits, whether it is a template,
    and optionally the template to copy (its tasks, subtasks, labels and relations, due
    dates moved by the offset from the template's start to this project's start)."""

    workspace_id = ma.fields.Integer(
        strict=True,
        allow_none=True,
        load_default=None,
        validate=validate.Range(min=1),
        metadata={"description": WORKSPACE_ID},
    )
    visibility = ma.fields.String(
        load_default="private",
        validate=validate.OneOf(PROJECT_VISIBILITIES),
        metadata={"description": VISIBILITY},
    )
    is_template = ma.fields.Boolean(load_default=False)
    from_template = ma.fields.Integer(
        strict=True,
        validate=validate.Range(min=1),
        metadata={
            "description": "A template project (is_template) you can see, to copy. Its "
            "start_date (else its earliest due date) moves to this project's start_date "
            "(default: today, UTC), and every due date by the same offset."
        },
    )


class ProjectUpdateSchema(ma.Schema):
    """PATCH: any of the editable fields, and where the project sits."""

    name = ma.fields.String(validate=title())
    description = ma.fields.String(allow_none=True, validate=validate.Length(max=10_000))
    status = ma.fields.String(validate=validate.OneOf(PROJECT_STATUSES))
    priority = ma.fields.String(validate=validate.OneOf(PRIORITIES))
    start_date = CalendarDate(allow_none=True)
    end_date = CalendarDate(allow_none=True)
    workspace_id = ma.fields.Integer(
        strict=True,
        allow_none=True,
        validate=validate.Range(min=1),
        metadata={
            "description": WORKSPACE_ID + ". Moving in needs the admin role in the "
            "workspace; taking out needs it in the current one, or being the owner."
        },
    )
    visibility = ma.fields.String(
        validate=validate.OneOf(PROJECT_VISIBILITIES), metadata={"description": VISIBILITY}
    )
    is_template = ma.fields.Boolean()

    @ma.validates_schema
    def _not_empty(self, data, **kwargs):
        if not data:
            raise ma.ValidationError("Give at least one field to change.")


class WorkspaceProjectArgsSchema(PageArgsSchema):
    status = CommaList(choices=PROJECT_STATUSES)
    is_template = ma.fields.Boolean(metadata={"description": "Only templates, or no templates"})
    q = ma.fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={"description": "Case-insensitive search in the name"},
    )
    sort = SortField(PROJECT_SORT_FIELDS, default="name")


class ProjectListArgsSchema(WorkspaceProjectArgsSchema):
    all = ma.fields.Boolean(
        load_default=False, metadata={"description": "Every project (global admins only)"}
    )


ProjectPageSchema = page_schema(ProjectSchema, "ProjectPageSchema")
