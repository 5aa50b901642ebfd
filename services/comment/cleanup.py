"""Removing the comments of a deleted task or project (``task.deleted`` and
``project.deleted`` events, docs/services.md and docs/events.md)."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import delete, select

from services.comment.extensions import db
from services.comment.models import Comment, Reaction

log = logging.getLogger(__name__)


def remove_comments(event: dict[str, Any]) -> None:
    """Delete the comments the event's task or project took with it, with their replies
    and reactions (the caller commits)."""
    if event["type"] == "task.deleted":
        condition = Comment.task_id == event["entity"]["id"]
    elif event["type"] == "project.deleted":
        condition = Comment.project_id == (event["project_id"] or event["entity"]["id"])
    else:
        return
    doomed = select(Comment.id).where(condition)
    db.session.execute(delete(Reaction).where(Reaction.comment_id.in_(doomed)))
    result = db.session.execute(delete(Comment).where(condition))
    log.info("%s %s removed %d comments", event["type"], event["entity"]["id"], result.rowcount)
