"""The task-list query: filters and sorts of docs/services.md, all in SQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, and_, exists, or_, select
from sqlalchemy.orm import with_expression

from services.common.auth import Principal
from services.common.contracts import CLOSED_STATUSES, PRIORITIES, TASK_STATUSES
from services.common.db import utcnow
from services.common.query_args import LIKE_ESCAPE, order_by, search_pattern
from services.project_task.models import Task, TaskLabel, labels_joined, rank_of

LABELS = with_expression(Task.label_text, labels_joined())

SORT_COLUMNS = {
    "priority": rank_of(Task.priority, PRIORITIES),
    "status": rank_of(Task.status, TASK_STATUSES),
    "due_date": Task.due_date,
    "created_at": Task.created_at,
    "updated_at": Task.updated_at,
    "position": Task.position,
}


def _assignee(query: Select, wanted: int | str, principal: Principal) -> Select:
    if wanted == "none":
        return query.where(Task.assignee_id.is_(None))
    return query.where(Task.assignee_id == (principal.id if wanted == "me" else wanted))


def _overdue(query: Select, wanted: bool) -> Select:
    today = utcnow().date()
    if wanted:
        return query.where(Task.due_date < today, Task.status.not_in(CLOSED_STATUSES))
    return query.where(
        or_(Task.due_date.is_(None), Task.due_date >= today, Task.status.in_(CLOSED_STATUSES))
    )


def task_list(query: Select, args: dict[str, Any], principal: Principal) -> Select:
    """``query`` (tasks the caller may see) narrowed by the list's filters and sorted,
    with the labels loaded in the same row."""
    if "status" in args:
        query = query.where(Task.status.in_(args["status"]))
    if "priority" in args:
        query = query.where(Task.priority.in_(args["priority"]))
    if "assignee_id" in args:
        query = _assignee(query, args["assignee_id"], principal)
    if "label" in args:
        labelled = and_(TaskLabel.task_id == Task.id, TaskLabel.label.in_(args["label"]))
        query = query.where(exists(select(TaskLabel.task_id).where(labelled)))
    if "due_before" in args:
        query = query.where(Task.due_date < args["due_before"])
    if "due_after" in args:
        query = query.where(Task.due_date > args["due_after"])
    if "overdue" in args:
        query = _overdue(query, args["overdue"])
    if "q" in args:
        pattern = search_pattern(args["q"])
        query = query.where(
            or_(
                Task.title.ilike(pattern, escape=LIKE_ESCAPE),
                Task.description.ilike(pattern, escape=LIKE_ESCAPE),
            )
        )
    sort = order_by(args["sort"], SORT_COLUMNS, Task.id, nullable=("due_date",))
    return query.options(LABELS).order_by(*sort)


def subtree(task_id: int) -> Select:
    """Ids of ``task_id`` and every task below it (one recursive query; UNION, so even a
    bad cycle ends)."""
    tree = select(Task.id).where(Task.id == task_id).cte("subtree", recursive=True)
    tree = tree.union(select(Task.id).join(tree, Task.parent_id == tree.c.id))
    return select(tree.c.id)
