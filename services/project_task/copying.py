"""Copies of tasks, in bulk: a template's tasks into a new project, a task (with its
subtasks) duplicated in its project.

Everything to copy is read first (the tasks, their labels, the relations among them:
three queries), then written with bulk statements: the tasks in multi-row INSERTs, their
parent links in one UPDATE per batch, the labels and the relations in one INSERT each.
However many tasks, that is a handful of statements, never one per task, on PostgreSQL
and SQLite alike.

To learn which new id is the copy of which task without relying on the order of
RETURNING (which SQLite does not promise for a multi-row INSERT), each copy is written
with ``parent_id`` set to the id of the task it copies, returned with its new id, and
given its real parent right after, in the same transaction.

A copy starts afresh: todo, never completed, no hours spent, reported by whoever copies;
due dates move by ``shift``; whoever copies (and each kept assignee) watches the copies;
the copies go to the end of the project's todo column, in
the order of the tasks they copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Integer, Select, case, cast, insert, select, update

from services.project_task.board import GAP, last_position
from services.project_task.extensions import db
from services.project_task.locks import lock_project
from services.project_task.models import Task, TaskLabel, TaskRelation, TaskWatcher

# Rows per UPDATE of the parent links (two bound values per row, well within the
# parameter limits of SQLite and PostgreSQL).
PARENT_BATCH = 500

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


def _values(row: Any, project_id: int, reporter_id: int, shift: timedelta | None) -> dict:
    due_date = row.due_date
    if due_date is not None and shift:
        due_date = due_date + shift
    return {
        "project_id": project_id,
        "title": row.title,
        "description": row.description,
        "status": "todo",
        "priority": row.priority,
        "assignee_id": row.assignee_id,
        "reporter_id": reporter_id,
        "due_date": due_date,
        "estimated_hours": row.estimated_hours,
        # Which task this is a copy of, until the parent links are set below.
        "parent_id": row.id,
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
    if not rows:
        return Copied({}, 0)
    labels = db.session.execute(
        select(TaskLabel.task_id, TaskLabel.label).where(TaskLabel.task_id.in_(source))
    ).all()
    relations = db.session.execute(
        select(TaskRelation.type, TaskRelation.source_id, TaskRelation.target_id).where(
            TaskRelation.source_id.in_(source), TaskRelation.target_id.in_(source)
        )
    ).all()

    values = [_values(row, project_id, reporter_id, shift) for row in rows]
    lock_project(project_id)
    last = last_position(project_id, "todo")
    for index, value in enumerate(values, start=1):
        value["position"] = last + GAP * index
        if not keep_assignees:
            value["assignee_id"] = None
    written = db.session.execute(insert(Task).returning(Task.id, Task.parent_id), values)
    ids = {original: new for new, original in written}

    parents = {}
    for row in rows:
        if row.parent_id in ids:
            parents[ids[row.id]] = ids[row.parent_id]
        else:
            parents[ids[row.id]] = row.parent_id if keep_outside_parents else None
    links = list(parents.items())
    for start in range(0, len(links), PARENT_BATCH):
        batch = dict(links[start : start + PARENT_BATCH])
        db.session.execute(
            update(Task)
            .where(Task.id.in_(list(batch)))
            .values(parent_id=cast(case(batch, value=Task.id), Integer))
            .execution_options(synchronize_session=False)
        )
    # Whoever copies watches the copies (as the reporter of a new task does), and so do
    # the assignees kept.
    watchers = {(new, reporter_id) for new in ids.values()}
    watchers |= {(ids[v["parent_id"]], v["assignee_id"]) for v in values if v["assignee_id"]}
    db.session.execute(
        insert(TaskWatcher),
        [
            {"task_id": task_id, "user_id": user_id, "project_id": project_id}
            for task_id, user_id in sorted(watchers)
        ],
    )
    if labels:
        db.session.execute(
            insert(TaskLabel),
            [{"task_id": ids[row.task_id], "label": row.label} for row in labels],
        )
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
