"""Schemas for task relations as the API shows and takes them."""

import marshmallow as ma
from marshmallow import validate

from services.common.contracts import PRIORITIES, RELATION_INVERSES, RELATION_TYPES, TASK_STATUSES
from services.common.pagination import page_schema
from services.project_task.fields import CalendarDate

SEEN_TYPES = tuple(dict.fromkeys([*RELATION_TYPES, *RELATION_INVERSES.values()]))


class RelatedTaskSchema(ma.Schema):
    """The task at the other end of a relation."""

    id = ma.fields.Integer()
    project_id = ma.fields.Integer()
    title = ma.fields.String()
    status = ma.fields.String(metadata={"enum": list(TASK_STATUSES)})
    priority = ma.fields.String(metadata={"enum": list(PRIORITIES)})
    assignee_id = ma.fields.Integer(allow_none=True)
    due_date = CalendarDate(allow_none=True)


class RelationSchema(ma.Schema):
    """A relation as seen from the task in the path: ``type`` is what that task is to
    ``task`` (``blocks``/``blocked_by``, ``relates_to``, ``duplicates``/``duplicated_by``)."""

    id = ma.fields.Integer()
    type = ma.fields.String(metadata={"enum": list(SEEN_TYPES)})
    task_id = ma.fields.Integer(metadata={"description": "The task at the other end"})
    task = ma.fields.Nested(RelatedTaskSchema)
    created_by = ma.fields.Integer(allow_none=True)
    created_at = ma.fields.DateTime()


class RelationCreateSchema(ma.Schema):
    """``type`` is what the task in the path is to ``task_id``: ``{"type": "blocks",
    "task_id": 9}`` means this task blocks task 9 (so 9 is ``blocked_by`` this one)."""

    type = ma.fields.String(required=True, validate=validate.OneOf(RELATION_TYPES))
    task_id = ma.fields.Integer(strict=True, required=True, validate=validate.Range(min=1))


RelationPageSchema = page_schema(RelationSchema, "RelationPageSchema")
