"""Copies of tasks, in bulk: a template's tasks into a new project, a task (with its
subtasks) duplicated in its project.

The tasks are read with one query and written with bulk INSERTs (RETURNING the new ids
in the order of the rows sent), level by level of the subtask tree, so each copy's
parent is already known when it is written; their labels and the relations among them
follow in one bulk INSERT each. However many tasks, that is a handful of statements,
never one per task. A copy starts afresh: todo, never completed, no hours spent,
reported by whoever copies; due dates move by ``shift``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, insert, select

from services.project_task.extensions import db
from services.project_task.models import Task, TaskLabel, TaskRelation

_COPIED = (
    Task.id,
    Task.title,
    Task.description,
    Task.priority,
    Task.assignee_id,
    Task.due_date,
    Task.estimated_hours,
    Task.parent_id,
)


@dataclass(frozen=True)
class Copied:
    """What a copy made: the new id of each task copied, and how many relations."""

    ids: dict[int, int]
    relations: int


@dataclass
class _Plan:
    """How each task is copied, and the new ids written so far."""

    project_id: int
    reporter_id: int
    shift: timedelta | None
    keep_assignees: bool
    keep_outside_parents: bool
    copied: set[int]
    ids: dict[int, int] = field(default_factory=dict)

    def ready(self, row: Any) -> bool:
        """Whether the row's parent is outside the copy or already copied."""
        return row.parent_id not in self.copied or row.parent_id in self.ids

    def values(self, row: Any) -> dict[str, Any]:
        if row.parent_id in self.copied:
            parent_id = self.ids.get(row.parent_id)
        else:
            parent_id = row.parent_id if self.keep_outside_parents else None
        due_date = row.due_date
        if due_date is not None and self.shift:
            due_date = due_date + self.shift
        return {
            "project_id": self.project_id,
            "title": row.title,
            "description": row.description,
            "status": "todo",
            "priority": row.priority,
            "assignee_id": row.assignee_id if self.keep_assignees else None,
            "reporter_id": self.reporter_id,
            "due_date": due_date,
            "estimated_hours": row.estimated_hours,
            "parent_id": parent_id,
        }


def copy_tasks(
    source: Select,
    *,
    project_id: int,
    reporter_id: int,
    shift: timedelta | None = None,
    keep_assignees: bool = False,
    keep_outside_parents: bool = False,
) -> Copied:
    """Copy the tasks whose ids ``source`` selects into ``project_id``, with their
    labels, their parent links among themselves and the relations among themselves.
    A parent outside the copied tasks is kept with ``keep_outside_parents`` (a copy in
    the same project), else dropped; assignees are kept with ``keep_assignees``."""
    source = source.correlate(None)
    rows = db.session.execute(select(*_COPIED).where(Task.id.in_(source)).order_by(Task.id)).all()
    plan = _Plan(
        project_id,
        reporter_id,
        shift,
        keep_assignees,
        keep_outside_parents,
        copied={row.id for row in rows},
    )
    pending = rows
    while pending:
        # Parent links never loop (edits refuse it); if stored data ever did, cut the loop.
        level = [row for row in pending if plan.ready(row)] or pending
        new_ids = db.session.scalars(
            insert(Task).returning(Task.id, sort_by_parameter_order=True),
            [plan.values(row) for row in level],
        ).all()
        plan.ids.update(zip((row.id for row in level), new_ids, strict=True))
        pending = [row for row in pending if row.id not in plan.ids]
    ids = plan.ids
    if not ids:
        return Copied(ids, 0)
    labels = db.session.execute(
        select(TaskLabel.task_id, TaskLabel.label).where(TaskLabel.task_id.in_(source))
    ).all()
    if labels:
        db.session.execute(
            insert(TaskLabel),
            [{"task_id": ids[row.task_id], "label": row.label} for row in labels],
        )
    relations = db.session.execute(
        select(TaskRelation.type, TaskRelation.source_id, TaskRelation.target_id).where(
            TaskRelation.source_id.in_(source), TaskRelation.target_id.in_(source)
        )
    ).all()
    if relations:
        db.session.execute(
            insert(TaskRelation),
            [
                {
                    "type": row.type,
                    "source_id": ids[row.source_id],
                    "target_id": ids[row.target_id],
                    "created_by": reporter_id,
                }
                for row in relations
            ],
        )
    return Copied(ids, len(relations))
