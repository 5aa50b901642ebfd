"""Schemas for comments as the API shows and takes them."""

import marshmallow as ma
from marshmallow import validate

from services.comment.models import CONTENT_MAX_LENGTH, REACTIONS
from services.common.pagination import page_schema


def not_blank(value: str) -> None:
    """Refuse a string that is only whitespace."""
    if not value.strip():
        raise ma.ValidationError("Must not be blank.")


CONTENT = [validate.Length(min=1, max=CONTENT_MAX_LENGTH), not_blank]
CONTENT_HELP = (
    f"1 to {CONTENT_MAX_LENGTH} characters. @username mentions of project members are "
    "recorded in mentions."
)


class AuthorSchema(ma.Schema):
    """The author's public profile (username and full_name are null when unknown)."""

    id = ma.fields.Integer()
    username = ma.fields.String(allow_none=True)
    full_name = ma.fields.String(allow_none=True)


class ReactionSummarySchema(ma.Schema):
    """How many gave one reaction, and whether the caller is one of them."""

    name = ma.fields.String(validate=validate.OneOf(REACTIONS))
    count = ma.fields.Integer()
    me = ma.fields.Boolean()


class CommentSchema(ma.Schema):
    """A comment on a task: top-level, or a reply in a top-level comment's thread."""

    id = ma.fields.Integer()
    task_id = ma.fields.Integer()
    author_id = ma.fields.Integer()
    author = ma.fields.Nested(AuthorSchema)
    content = ma.fields.String()
    mentions = ma.fields.List(
        ma.fields.Integer(), metadata={"description": "Ids of the project members @mentioned"}
    )
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()
    edited = ma.fields.Boolean(metadata={"description": "The content changed after posting"})
    parent_id = ma.fields.Integer(
        allow_none=True,
        metadata={"description": "The top-level comment this replies to (null: top-level)"},
    )
    reply_count = ma.fields.Integer(
        metadata={"description": "How many replies the thread has (0 on a reply)"}
    )
    deleted = ma.fields.Boolean(
        metadata={
            "description": "A deleted top-level comment kept for its replies: content is "
            "empty and mentions are gone"
        }
    )
    reactions = ma.fields.List(
        ma.fields.Nested(ReactionSummarySchema),
        metadata={"description": "Each reaction given, in the set's order, with its count"},
    )


class CommentContentSchema(ma.Schema):
    """PUT: the comment's text."""

    content = ma.fields.String(
        required=True, validate=CONTENT, metadata={"description": CONTENT_HELP}
    )


class CommentCreateSchema(CommentContentSchema):
    """POST: the comment's text, and the comment it replies to, if any."""

    parent_id = ma.fields.Integer(
        allow_none=True,
        validate=validate.Range(min=1, max=2**31 - 1),
        metadata={
            "description": "A comment on the same task to reply to; a reply to a reply "
            "joins its top-level comment's thread"
        },
    )


class CommentUpdateSchema(ma.Schema):
    """PATCH: the comment's text (its only editable field)."""

    content = ma.fields.String(validate=CONTENT, metadata={"description": CONTENT_HELP})

    @ma.validates_schema
    def _not_empty(self, data, **kwargs):
        if not data:
            raise ma.ValidationError("Give at least one field to change.")


CommentPageSchema = page_schema(CommentSchema, "CommentPageSchema")
