"""Comments: a task's comments, one comment, a thread's replies and reactions (docs/services.md
and §13).

Anyone who can see the task reads its comments; members and up write them, reply and
react; authors edit their own; authors, project admins and owners, and global admins
delete them. Global admins who are no members of the project read and moderate, but do
not write.

A task's list shows its top-level comments, each with its ``reply_count``; a thread's
replies are listed at ``/api/comments/{id}/replies``. Deleting a top-level comment that
has replies leaves a tombstone (``deleted: true``, no text, no mentions, no reactions)
so its thread stays readable; the tombstone goes when its last reply does.
"""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from services.comment.comments.schemas import (
    CommentContentSchema,
    CommentCreateSchema,
    CommentPageSchema,
    CommentSchema,
    CommentUpdateSchema,
)
from services.comment.extensions import db
from services.comment.mentions import resolve_mentions
from services.comment.models import REACTIONS, Comment, Reaction
from services.comment.profiles import attach_authors
from services.comment.reactions import attach_reactions
from services.common.auth import Principal, current_principal, require_auth
from services.common.concurrency import check_if_match, etag_of
from services.common.errors import abort
from services.common.events import record_event
from services.common.idempotency import idempotent
from services.common.pagination import PageArgsSchema, paginate, with_link
from services.common.task_access import TaskAccess, item_access, task_access

blp = Blueprint("comments", __name__, url_prefix="/api", description="Comments on tasks")

EXCERPT_LENGTH = 200
# The ETag covers what its author may change, not the author's profile (which the user
# service owns) nor what others add to it (replies, reactions): replying to a comment
# never makes its author's next edit a 412.
_etag_schema = CommentSchema(exclude=("author", "reply_count", "reactions"))


def _etag(comment: Comment) -> str:
    return etag_of(_etag_schema.dump(comment))


def _decorate(comments: list[Comment]) -> None:
    """Authors and the caller's reaction summaries for a page: one call, one query."""
    attach_authors(comments)
    attach_reactions(comments, current_principal().id)


def _with_etag(comment: Comment, status: int = 200, **headers: str):
    _decorate([comment])
    return comment, status, {"ETag": _etag(comment), **headers}


def _page(query, args: dict[str, Any]):
    page = paginate(db.session, query, args["page"], args["per_page"])
    _decorate(page["items"])
    return with_link(page)


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


def _locked(comment_id: int) -> Comment | None:
    """The comment, its row locked until the commit (a reply, a deletion and a reaction
    on the same thread wait for each other); None if it went meanwhile."""
    return db.session.scalar(
        select(Comment)
        .where(Comment.id == comment_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _refuse_tombstone(comment: Comment) -> None:
    if comment.deleted:
        abort(409, "This comment was deleted; only its replies remain.")


def _thread_of(parent_id: int | None, task_id: int) -> Comment | None:
    """The top-level comment a new comment replying to ``parent_id`` joins (locked), or
    None for a top-level one; 422 when ``parent_id`` is no comment on this task."""
    if parent_id is None:
        return None
    parent = db.session.get(Comment, parent_id)
    if parent is None or parent.task_id != task_id:
        message = "No such comment on this task to reply to."
        abort(422, message, errors={"parent_id": [message]})
    top = _locked(parent.parent_id or parent.id)
    if top is None:
        message = "The comment to reply to was just deleted."
        abort(422, message, errors={"parent_id": [message]})
    return top


def _participants(top: Comment) -> list[int]:
    """Who is in a thread so far: the top-level comment's author (unless it was deleted)
    and everyone who replied (one query)."""
    return sorted(
        db.session.scalars(
            select(Comment.author_id)
            .where(or_(Comment.id == top.id, Comment.parent_id == top.id))
            .where(Comment.deleted.is_(False))
            .distinct()
        )
    )


def _count_reply(top: Comment, delta: int) -> None:
    """Add ``delta`` to a thread's ``reply_count`` in SQL (no lost update), leaving its
    ``updated_at``: a reply does not change the comment it answers."""
    db.session.execute(
        update(Comment)
        .where(Comment.id == top.id)
        .values(reply_count=Comment.reply_count + delta, updated_at=Comment.updated_at)
    )
    db.session.refresh(top)


@blp.route("/tasks/<int:task_id>/comments")
class TaskComments(MethodView):
    decorators = [require_auth(scope="comments")]

    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, CommentPageSchema)
    def get(self, args, task_id: int):
        """The task's top-level comments, oldest first (their replies: ``/replies``)."""
        task_access(task_id, current_principal())
        query = (
            select(Comment)
            .where(Comment.task_id == task_id, Comment.parent_id.is_(None))
            .order_by(Comment.created_at, Comment.id)
        )
        return _page(query, args)

    @idempotent
    @blp.arguments(CommentCreateSchema)
    @blp.response(201, CommentSchema)
    def post(self, data, task_id: int):
        """Comment on the task, or reply in a thread (members and up); @mentions of
        members are recorded, and a reply tells the thread."""
        principal = current_principal()
        access = task_access(task_id, principal)
        _require_writer(access)
        assert access.project_id is not None
        mentions = resolve_mentions(data["content"], access.project_id)
        top = _thread_of(data.get("parent_id"), task_id)
        comment = Comment(
            task_id=task_id,
            project_id=access.project_id,
            author_id=principal.id,
            content=data["content"],
            mentions=mentions,
            parent_id=top.id if top is not None else None,
        )
        # Who else hears of it (so nobody is told twice about one comment): those it
        # mentions, and for a reply the thread's participants.
        told: dict[str, Any] = {}
        if set(mentions) - {principal.id}:
            told["mentioned_user_ids"] = sorted(set(mentions) - {principal.id})
        if top is not None:
            told["thread"] = {"parent_id": top.id, "participant_ids": _participants(top)}
        db.session.add(comment)
        db.session.flush()
        if top is not None:
            _count_reply(top, 1)
        _record("comment.created", principal, comment, access, **told)
        if top is not None:
            _record("comment.replied", principal, comment, access, **told)
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

    @blp.arguments(CommentContentSchema)
    @blp.response(200, CommentSchema)
    @blp.alt_response(409, description="The comment was deleted (a tombstone)")
    def put(self, data, comment_id: int):
        """Replace your comment's text."""
        return self._edit(comment_id, data)

    @blp.arguments(CommentUpdateSchema)
    @blp.response(200, CommentSchema)
    @blp.alt_response(409, description="The comment was deleted (a tombstone)")
    def patch(self, data, comment_id: int):
        """Change your comment's text."""
        return self._edit(comment_id, data)

    @blp.response(204)
    def delete(self, comment_id: int):
        """Delete a comment (its author, project admins and owners, global admins); a
        top-level comment with replies stays as a tombstone until its last reply goes."""
        principal = current_principal()
        comment, access = _load(comment_id, principal)
        moderator = access.global_admin or access.has_role("admin")
        if comment.author_id != principal.id and not moderator:
            abort(403, "Only the author or a project admin can delete this comment.")
        check_if_match(_etag_schema.dump(comment))
        # The thread's top-level row first, then this one: every writer locks in that order.
        top = _locked(comment.parent_id) if comment.parent_id is not None else None
        comment = _locked(comment_id)
        if comment is None or comment.deleted:
            db.session.commit()
            return  # already gone, or already a tombstone: nothing more to delete
        if comment.parent_id is None and comment.reply_count > 0:
            _record("comment.deleted", principal, comment, access, tombstone=True)
            comment.content, comment.mentions, comment.deleted = "", [], True
            db.session.execute(delete(Reaction).where(Reaction.comment_id == comment.id))
            db.session.commit()
            return
        _record("comment.deleted", principal, comment, access)
        db.session.execute(delete(Reaction).where(Reaction.comment_id == comment.id))
        db.session.delete(comment)
        db.session.flush()
        if top is not None:
            _count_reply(top, -1)
            if top.deleted and top.reply_count <= 0:
                db.session.delete(top)  # the tombstone held only this reply
        db.session.commit()

    def _edit(self, comment_id: int, data: dict[str, Any]):
        principal = current_principal()
        comment, access = _load(comment_id, principal)
        if comment.author_id != principal.id:
            abort(403, "Only the author can edit this comment.")
        _require_writer(access)
        _refuse_tombstone(comment)
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


@blp.route("/comments/<int:comment_id>/replies")
class CommentReplies(MethodView):
    decorators = [require_auth(scope="comments")]

    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, CommentPageSchema)
    def get(self, args, comment_id: int):
        """The replies in a top-level comment's thread, oldest first."""
        _load(comment_id, current_principal())
        query = (
            select(Comment)
            .where(Comment.parent_id == comment_id)
            .order_by(Comment.created_at, Comment.id)
        )
        return _page(query, args)


REACTION_PARAMETER = {
    "in": "path",
    "name": "reaction",
    "required": True,
    "description": "One of the fixed set of reactions",
    "schema": {"type": "string", "enum": list(REACTIONS)},
}


def _reaction_target(comment_id: int, reaction: str) -> tuple[Comment, TaskAccess]:
    """The comment to react to, locked, for a caller allowed to react with ``reaction``."""
    principal = current_principal()
    comment, access = _load(comment_id, principal)
    if reaction not in REACTIONS:
        message = f"Unknown reaction; use one of: {' '.join(REACTIONS)}."
        abort(422, message, errors={"reaction": [message]})
    if not access.has_role("member"):
        abort(403, "You need the member role in this project to react to comments.")
    comment = _locked(comment_id)
    if comment is None:
        abort(404, "No such comment.")
    _refuse_tombstone(comment)
    return comment, access


@blp.route("/comments/<int:comment_id>/reactions/<reaction>", parameters=[REACTION_PARAMETER])
class CommentReaction(MethodView):
    decorators = [require_auth(scope="comments")]

    @blp.response(200, CommentSchema)
    @blp.alt_response(409, description="The comment was deleted (a tombstone)")
    @blp.alt_response(422, description="No such reaction in the set")
    def put(self, comment_id: int, reaction: str):
        """React to a comment (members and up); giving a reaction twice is one."""
        principal = current_principal()
        comment, access = _reaction_target(comment_id, reaction)
        dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
        added = db.session.execute(
            dialect.insert(Reaction)
            .values(comment_id=comment.id, user_id=principal.id, name=reaction)
            .on_conflict_do_nothing()
        ).rowcount
        if added:
            _record("comment.reaction_added", principal, comment, access, reaction=reaction)
        db.session.commit()
        return _with_etag(comment)

    @blp.response(204)
    @blp.alt_response(409, description="The comment was deleted (a tombstone)")
    @blp.alt_response(422, description="No such reaction in the set")
    def delete(self, comment_id: int, reaction: str):
        """Take your reaction back; taking back one you did not give changes nothing."""
        principal = current_principal()
        comment, access = _reaction_target(comment_id, reaction)
        removed = db.session.execute(
            delete(Reaction).where(
                Reaction.comment_id == comment.id,
                Reaction.user_id == principal.id,
                Reaction.name == reaction,
            )
        ).rowcount
        if removed:
            _record("comment.reaction_removed", principal, comment, access, reaction=reaction)
        db.session.commit()
