"""Comments: a task's comments, and one comment (SPEC §5).

Anyone who can see the task reads its comments; members and up write them; authors edit
their own; authors, project admins and owners, and global admins delete them. Global
admins who are no members of the project read and moderate, but do not write.
"""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from services.comment.comments.schemas import (
    CommentCreateSchema,
    CommentPageSchema,
    CommentSchema,
    CommentUpdateSchema,
)
from services.comment.extensions import db
from services.comment.mentions import resolve_mentions
from services.comment.models import Comment
from services.comment.profiles import attach_authors
from services.common.auth import Principal, current_principal, require_auth
from services.common.concurrency import check_if_match, etag_of
from services.common.errors import abort
from services.common.events import record_event
from services.common.idempotency import idempotent
from services.common.pagination import PageArgsSchema, paginate, with_link
from services.common.task_access import TaskAccess, item_access, task_access

blp = Blueprint("comments", __name__, url_prefix="/api", description="Comments on tasks")

EXCERPT_LENGTH = 200
# The ETag covers the comment itself, not its author's profile (which the user service owns).
_etag_schema = CommentSchema(exclude=("author",))


def _etag(comment: Comment) -> str:
    return etag_of(_etag_schema.dump(comment))


def _with_etag(comment: Comment, status: int = 200, **headers: str):
    attach_authors([comment])
    return comment, status, {"ETag": _etag(comment), **headers}


def excerpt(content: str) -> str:
    """At most ``EXCERPT_LENGTH`` characters of a comment, for events."""
    if len(content) <= EXCERPT_LENGTH:
        return content
    return content[: EXCERPT_LENGTH - 1] + "…"


def _record(
    event_type: str,
    principal: Principal,
    comment: Comment,
    access: TaskAccess,
    changes: dict[str, list[Any]] | None = None,
    **data: Any,
) -> None:
    summary = {
        "id": comment.id,
        "task_id": comment.task_id,
        "content": excerpt(comment.content),
        "author_id": comment.author_id,
    }
    record_event(
        event_type,
        actor=principal,
        entity=("comment", comment.id),
        project_id=comment.project_id,
        data={"comment": summary, "task": access.task_summary(), **data},
        changes=changes,
    )


def _record_mentions(
    principal: Principal, comment: Comment, access: TaskAccess, user_ids: set[int]
) -> None:
    """comment.mentioned for the members newly @mentioned (never the author themself)."""
    mentioned = sorted(user_ids - {comment.author_id})
    if mentioned:
        _record("comment.mentioned", principal, comment, access, mentioned_user_ids=mentioned)


def _require_writer(access: TaskAccess) -> None:
    if not access.has_role("member"):
        abort(403, "You need the member role in this project to write comments.")


def _load(comment_id: int, principal: Principal) -> tuple[Comment, TaskAccess]:
    """The comment and the caller's access to its task; 404 if they cannot see it."""
    comment = db.session.get(Comment, comment_id)
    task_id = comment.task_id if comment is not None else None
    return comment, item_access("comment", comment_id, task_id, principal)


@blp.route("/tasks/<int:task_id>/comments")
class TaskComments(MethodView):
    decorators = [require_auth(scope="comments")]

    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, CommentPageSchema)
    def get(self, args, task_id: int):
        """The task's comments, oldest first."""
        task_access(task_id, current_principal())
        query = (
            select(Comment)
            .where(Comment.task_id == task_id)
            .order_by(Comment.created_at, Comment.id)
        )
        page = paginate(db.session, query, args["page"], args["per_page"])
        attach_authors(page["items"])
        return with_link(page)

    @idempotent
    @blp.arguments(CommentCreateSchema)
    @blp.response(201, CommentSchema)
    def post(self, data, task_id: int):
        """Comment on the task (members and up); @mentions of members are recorded."""
        principal = current_principal()
        access = task_access(task_id, principal)
        _require_writer(access)
        assert access.project_id is not None
        comment = Comment(
            task_id=task_id,
            project_id=access.project_id,
            author_id=principal.id,
            content=data["content"],
            mentions=resolve_mentions(data["content"], access.project_id),
        )
        db.session.add(comment)
        db.session.flush()
        _record("comment.created", principal, comment, access)
        _record_mentions(principal, comment, access, set(comment.mentions))
        db.session.commit()
        location = url_for("comments.CommentById", comment_id=comment.id)
        return _with_etag(comment, 201, Location=location)


@blp.route("/comments/<int:comment_id>")
class CommentById(MethodView):
    decorators = [require_auth(scope="comments")]

    @blp.response(200, CommentSchema)
    def get(self, comment_id: int):
        """One comment."""
        comment, _ = _load(comment_id, current_principal())
        return _with_etag(comment)

    @blp.arguments(CommentCreateSchema)
    @blp.response(200, CommentSchema)
    def put(self, data, comment_id: int):
        """Replace your comment's text."""
        return self._edit(comment_id, data)

    @blp.arguments(CommentUpdateSchema)
    @blp.response(200, CommentSchema)
    def patch(self, data, comment_id: int):
        """Change your comment's text."""
        return self._edit(comment_id, data)

    @blp.response(204)
    def delete(self, comment_id: int):
        """Delete a comment (its author, project admins and owners, global admins)."""
        principal = current_principal()
        comment, access = _load(comment_id, principal)
        moderator = access.global_admin or access.has_role("admin")
        if comment.author_id != principal.id and not moderator:
            abort(403, "Only the author or a project admin can delete this comment.")
        check_if_match(_etag_schema.dump(comment))
        _record("comment.deleted", principal, comment, access)
        db.session.delete(comment)
        db.session.commit()

    def _edit(self, comment_id: int, data: dict[str, Any]):
        principal = current_principal()
        comment, access = _load(comment_id, principal)
        if comment.author_id != principal.id:
            abort(403, "Only the author can edit this comment.")
        _require_writer(access)
        check_if_match(_etag_schema.dump(comment))
        content = data.get("content", comment.content)
        if content == comment.content:
            return _with_etag(comment)
        assert access.project_id is not None
        old_content, old_mentions = comment.content, list(comment.mentions)
        comment.content = content
        comment.mentions = resolve_mentions(content, access.project_id)
        comment.edited = True
        changes: dict[str, list[Any]] = {"content": [excerpt(old_content), excerpt(content)]}
        if comment.mentions != old_mentions:
            changes["mentions"] = [old_mentions, comment.mentions]
        db.session.flush()
        _record("comment.updated", principal, comment, access, changes)
        _record_mentions(principal, comment, access, set(comment.mentions) - set(old_mentions))
        db.session.commit()
        return _with_etag(comment)
