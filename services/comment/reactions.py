"""Reactions on comments (docs/services.md): the fixed set, and the per-caller summary a page of
comments shows, counted in one grouped query per page (never one per comment)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import select

from services.comment.extensions import db
from services.comment.models import REACTIONS, Comment, Reaction

_ORDER = {name: rank for rank, name in enumerate(REACTIONS)}


def summaries(comment_ids: Iterable[int], user_id: int) -> dict[int, list[dict[str, Any]]]:
    """``{comment_id: [{name, count, me}]}`` for the given comments, in the set's order;
    ``me`` says whether ``user_id`` gave that reaction. One query."""
    ids = list(dict.fromkeys(comment_ids))
    found: dict[int, list[dict[str, Any]]] = {comment_id: [] for comment_id in ids}
    if not ids:
        return found
    mine = sa.func.max(sa.case((Reaction.user_id == user_id, 1), else_=0))
    rows = db.session.execute(
        select(Reaction.comment_id, Reaction.name, sa.func.count(), mine)
        .where(Reaction.comment_id.in_(ids))
        .group_by(Reaction.comment_id, Reaction.name)
    )
    for comment_id, name, count, me in rows:
        found[comment_id].append({"name": name, "count": count, "me": bool(me)})
    for summary in found.values():
        summary.sort(key=lambda item: _ORDER.get(item["name"], len(_ORDER)))
    return found


def attach_reactions(comments: Iterable[Comment], user_id: int) -> None:
    """Set ``comment.reactions`` on every comment from one grouped query."""
    comments = list(comments)
    found = summaries((comment.id for comment in comments), user_id)
    for comment in comments:
        comment.reactions = found[comment.id]
