"""Schemas for tasks as the API shows and takes them, and the task-list query."""

import marshmallow as ma
from marshmallow import validate

from services.common.contracts import PRIORITIES, TASK_STATUSES
from services.common.pagination import PageArgsSchema, page_schema
from services.common.query_args import CommaList, SortField
from services.project_task.fields import CalendarDate, Hours, title, user_id_field

TASK_SORT_FIELDS = ("priority", "due_date", "created_at", "updated_at", "status", "position")
LABEL = validate.Regexp(
    r"^[^,\s](?:[^,]{0,48}[^,\s])?$",
    error="1 to 50 characters; no commas, no leading or trailing spaces.",
)
FORCE = (
    "Close the task (status done) even though open tasks block it; without it, that is 409 blocked."
)
DUE_DATE = (
    "Calendar date YYYY-MM-DD. A task is overdue from the day after its due date (UTC) "
    "until it is done or cancelled. Datetimes are refused."
)


class TaskSchema(ma.Schema):
    """A task."""

    id = ma.fields.Integer()
    project_id = ma.fields.Integer()
    title = ma.fields.String()
    description = ma.fields.String(allow_none=True)
    status = ma.fields.String(metadata={"enum": list(TASK_STATUSES)})
    priority = ma.fields.String(metadata={"enum": list(PRIORITIES)})
    assignee_id = ma.fields.Integer(allow_none=True)
    reporter_id = ma.fields.Integer()
    labels = ma.fields.List(ma.fields.String(), metadata={"description": "Sorted, unique"})
    due_date = CalendarDate(allow_none=True, metadata={"description": DUE_DATE})
    estimated_hours = ma.fields.Float(allow_none=True)
    actual_hours = ma.fields.Float(
        allow_none=True, metadata={"description": "Hand-typed; the time entries are spent_minutes"}
    )
    spent_minutes = ma.fields.Integer(
        metadata={"description": "The sum of the task's time entries, in minutes"}
    )
    parent_id = ma.fields.Integer(allow_none=True)
    position = ma.fields.Integer(
        metadata={
            "description": "Place in its board column (project and status), smaller first; "
            "compare, never compute with it: the service renumbers columns when it needs room"
        }
    )
    completed_at = ma.fields.DateTime(
        allow_none=True, metadata={"description": "Set on entering done, cleared on leaving it"}
    )
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class TaskReplaceSchema(ma.Schema):
    """POST and PUT: every editable field; an omitted one takes its default. The assignee
    must be a member of the project, the parent a task of the same project."""

    title = ma.fields.String(required=True, validate=title())
    description = ma.fields.String(
        allow_none=True, load_default=None, validate=validate.Length(max=20_000)
    )
    status = ma.fields.String(load_default="todo", validate=validate.OneOf(TASK_STATUSES))
    priority = ma.fields.String(load_default="medium", validate=validate.OneOf(PRIORITIES))
    assignee_id = user_id_field(allow_none=True, load_default=None)
    labels = ma.fields.List(
        ma.fields.String(validate=LABEL), load_default=list, validate=validate.Length(max=20)
    )
    due_date = CalendarDate(allow_none=True, load_default=None, metadata={"description": DUE_DATE})
    estimated_hours = Hours(allow_none=True, load_default=None)
    actual_hours = Hours(allow_none=True, load_default=None)
    parent_id = ma.fields.Integer(
        strict=True, allow_none=True, load_default=None, validate=validate.Range(min=1)
    )
    force = ma.fields.Boolean(metadata={"description": FORCE})


class TaskUpdateSchema(ma.Schema):
    """PATCH: any of the editable fields."""

    title = ma.fields.String(validate=title())
    description = ma.fields.String(allow_none=True, validate=validate.Length(max=20_000))
    status = ma.fields.String(validate=validate.OneOf(TASK_STATUSES))
    priority = ma.fields.String(validate=validate.OneOf(PRIORITIES))
    assignee_id = user_id_field(allow_none=True)
    labels = ma.fields.List(ma.fields.String(validate=LABEL), validate=validate.Length(max=20))
    due_date = CalendarDate(allow_none=True, metadata={"description": DUE_DATE})
    estimated_hours = Hours(allow_none=True)
    actual_hours = Hours(allow_none=True)
    parent_id = ma.fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=1))
    force = ma.fields.Boolean(metadata={"description": FORCE})

    @ma.validates_schema
    def _not_empty(self, data, **kwargs):
        if not data:
            raise ma.ValidationError("Give at least one field to change.")


# The largest task id (an SQL INTEGER): a larger neighbour is refused before any query.
MAX_ID = 2**31 - 1


class TaskMoveSchema(ma.Schema):
    """Where a task goes on its project's board: the column ``status`` (default: its
    own) and its neighbours there. ``after_id``: right after that task; ``before_id``:
    right before it; neither: at the end of the column."""

    status = ma.fields.String(validate=validate.OneOf(TASK_STATUSES))
    before_id = ma.fields.Integer(
        strict=True,
        allow_none=True,
        validate=validate.Range(min=1, max=MAX_ID),
        metadata={"description": "The task this one goes right before (same column)"},
    )
    after_id = ma.fields.Integer(
        strict=True,
        allow_none=True,
        validate=validate.Range(min=1, max=MAX_ID),
        metadata={"description": "The task this one goes right after (same column)"},
    )
    force = ma.fields.Boolean(metadata={"description": FORCE})


class TaskDuplicateSchema(ma.Schema):
    """What to copy: the task with its labels (and, with ``with_subtasks``, every task
    below it, keeping their parent links); the copy starts as todo."""

    title = ma.fields.String(
        validate=title(), metadata={"description": "The copy's title (default: the same)"}
    )
    with_subtasks = ma.fields.Boolean(
        load_default=False, metadata={"description": "Copy the subtasks too, at every depth"}
    )


class AssigneeFilter(ma.fields.Field):
    """``assignee_id``: a user id, ``me`` (the caller) or ``none`` (unassigned)."""

    def __init__(self, **kwargs):
        description = "A user id, me, or none (unassigned)"
        super().__init__(metadata={"type": "string", "description": description}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if value in ("me", "none"):
            return value
        try:
            user_id = int(value)
        except (TypeError, ValueError) as exc:
            raise ma.ValidationError("Give a user id, me or none.") from exc
        if user_id < 1:
            raise ma.ValidationError("Give a positive user id.")
        return user_id


class TaskListArgsSchema(PageArgsSchema):
    status = CommaList(choices=TASK_STATUSES)
    priority = CommaList(choices=PRIORITIES)
    assignee_id = AssigneeFilter()
    label = CommaList(metadata={"description": "Tasks having any of these labels"})
    due_before = CalendarDate(metadata={"description": "Due strictly before this date"})
    due_after = CalendarDate(metadata={"description": "Due strictly after this date"})
    overdue = ma.fields.Boolean(metadata={"description": "Past due and not done or cancelled"})
    q = ma.fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={"description": "Case-insensitive search in title and description"},
    )
    sort = SortField(
        TASK_SORT_FIELDS,
        default="-created_at",
        metadata={
            "description": "priority (low < critical) and status (todo < cancelled) sort by "
            "rank; position is board order within a column (filter one status)."
        },
    )


class AllTasksArgsSchema(TaskListArgsSchema):
    project_id = ma.fields.Integer(validate=validate.Range(min=1))
    all = ma.fields.Boolean(
        load_default=False, metadata={"description": "Tasks of every project (global admins)"}
    )


TaskPageSchema = page_schema(TaskSchema, "TaskPageSchema")
