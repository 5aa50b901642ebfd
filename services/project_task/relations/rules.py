"""The rules of task relations: where they may go, the cycle check of ``blocks``, the
``blocked`` rule on closing a task, and the relations a project's move leaves behind.

A relation joins two tasks of one project, or of two projects of one workspace. ``A
blocks B`` means B cannot be done while A is open (neither done nor cancelled); a chain
of ``blocks`` must never come back to where it started. The check is one recursive
query over the ``blocks`` edges, run under the locks of :mod:`services.project_task.locks`
so that two requests each closing half of a cycle cannot both pass it.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import and_, delete, exists, func, or_, select
from sqlalchemy.orm import aliased

from services.common.auth import Principal
from services.common.contracts import CLOSED_STATUSES
from services.common.errors import abort
from services.project_task.access import visible_to
from services.project_task.extensions import db
from services.project_task.models import Task, TaskRelation


def reaches(start_id: int, goal_id: int) -> bool:
    """Whether a chain of ``blocks`` leads from task ``start_id`` to task ``goal_id``
    (one recursive query; UNION, so even a cycle already there ends)."""
    chain = (
        select(TaskRelation.target_id.label("task_id"))
        .where(TaskRelation.type == "blocks", TaskRelation.source_id == start_id)
        .cte("chain", recursive=True)
    )
    step = aliased(TaskRelation)
    chain = chain.union(
        select(step.target_id)
        .join(chain, step.source_id == chain.c.task_id)
        .where(step.type == "blocks")
    )
    return bool(db.session.scalar(select(exists().where(chain.c.task_id == goal_id))))


def open_blockers(task_id: int, principal: Principal) -> tuple[int, list[int]]:
    """How many open tasks block ``task_id``, and the ids of those the caller can see."""
    blocker = aliased(Task)
    rows = db.session.execute(
        select(blocker.id, visible_to(principal, blocker.project_id).label("visible"))
        .join(TaskRelation, TaskRelation.source_id == blocker.id)
        .where(
            TaskRelation.type == "blocks",
            TaskRelation.target_id == task_id,
            blocker.status.not_in(CLOSED_STATUSES),
        )
        .order_by(blocker.id)
    ).all()
    return len(rows), [row.id for row in rows if row.visible]


def check_not_blocked(task: Task, principal: Principal) -> None:
    """409 ``blocked`` when open tasks block ``task`` (about to be done)."""
    count, visible = open_blockers(task.id, principal)
    if not count:
        return
    listed = ", ".join(str(task_id) for task_id in visible)
    abort(
        409,
        f"{count} open task(s) block this task: finish them first, or send "
        '"force": true to close it anyway.',
        code="blocked",
        errors={"status": [f"Blocked by open tasks{': ' + listed if listed else ''}."]},
    )


def touching(task_ids: Iterable[int] | object) -> object:
    """Condition: the relation has one of these tasks on either side."""
    return or_(TaskRelation.source_id.in_(task_ids), TaskRelation.target_id.in_(task_ids))


def remove_cross_project_relations(project_ids: list[int]) -> int:
    """Delete the relations between a task of these projects and a task of another
    project (after a move, they would join two workspaces); how many went."""
    if not project_ids:
        return 0
    source, target = aliased(Task), aliased(Task)
    crossing = (
        select(TaskRelation.id)
        .join(source, source.id == TaskRelation.source_id)
        .join(target, target.id == TaskRelation.target_id)
        .where(
            source.project_id != target.project_id,
            or_(source.project_id.in_(project_ids), target.project_id.in_(project_ids)),
        )
    )
    ids = list(db.session.scalars(crossing))
    if ids:
        db.session.execute(delete(TaskRelation).where(TaskRelation.id.in_(ids)))
    return len(ids)


def remove_relations_of(task_ids: object) -> None:
    """Delete every relation of these tasks (they are being deleted; explicit rather than
    ON DELETE CASCADE, which SQLite ignores by default)."""
    db.session.execute(delete(TaskRelation).where(touching(task_ids)))


def relation_count(task_id: int) -> int:
    return db.session.scalar(
        select(func.count()).select_from(TaskRelation).where(touching([task_id]))
    )


def same_pair(relation_type: str, source_id: int, target_id: int) -> object:
    """Condition: an existing relation of this type between these two tasks (either way
    round for the symmetric ``relates_to``)."""
    forward = and_(TaskRelation.source_id == source_id, TaskRelation.target_id == target_id)
    if relation_type == "relates_to":
        backward = and_(TaskRelation.source_id == target_id, TaskRelation.target_id == source_id)
        forward = or_(forward, backward)
    return and_(TaskRelation.type == relation_type, forward)
