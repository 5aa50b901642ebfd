"""Schemas for task watchers as the API shows them."""

import marshmallow as ma

from services.common.pagination import page_schema


class WatcherSchema(ma.Schema):
    """A user watching a task."""

    user_id = ma.fields.Integer()
    created_at = ma.fields.DateTime(metadata={"description": "Watching since"})


class WatchSchema(ma.Schema):
    """Whether the caller watches the task, after the request."""

    task_id = ma.fields.Integer()
    user_id = ma.fields.Integer()
    watching = ma.fields.Boolean()


WatcherPageSchema = page_schema(WatcherSchema, "WatcherPageSchema")
