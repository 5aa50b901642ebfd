"""Who watches a task: explicit watches, the automatic ones (the reporter and the
assignee, set by the task's writers; commenters and the mentioned, from the comment
service's events, by this service's worker), and the end of every watch in a project its
user left.

A watch is one ``task_watchers`` row; adding one that exists does nothing (an insert
that ignores a duplicate key on PostgreSQL and SQLite alike), so concurrent and repeated
watches of the same task by the same user leave one row.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from services.common.db import utcnow
from services.project_task.access import audience_ids
from services.project_task.extensions import db
from services.project_task.models import Task, TaskWatcher

_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def add_watchers(task: Task, user_ids: Iterable[int | None]) -> list[int]:
    """Make these users watch the task (None and repeats are skipped); the ids that were
    not watching it before."""
    wanted = sorted({user_id for user_id in user_ids if user_id is not None})
    if not wanted:
        return []
    insert = _INSERTS[db.session.get_bind().dialect.name](TaskWatcher)
    rows = [
        {
            "task_id": task.id,
            "user_id": user_id,
            "project_id": task.project_id,
            "created_at": utcnow(),
        }
        for user_id in wanted
    ]
    added = db.session.execute(
        insert.on_conflict_do_nothing(index_elements=["task_id", "user_id"]).returning(
            TaskWatcher.user_id
        ),
        rows,
    )
    return sorted(added.scalars())


def remove_watcher(task: Task, user_id: int) -> bool:
    """Stop ``user_id`` watching the task; whether they were."""
    result = db.session.execute(
        delete(TaskWatcher).where(TaskWatcher.task_id == task.id, TaskWatcher.user_id == user_id)
    )
    return result.rowcount > 0


def watcher_ids(task_id: int) -> list[int]:
    """Ids of the users watching the task, in id order."""
    return list(
        db.session.scalars(
            select(TaskWatcher.user_id)
            .where(TaskWatcher.task_id == task_id)
            .order_by(TaskWatcher.user_id)
        )
    )


def forget_watches_in(project_id: int, user_id: int) -> None:
    """End every watch ``user_id`` has on the project's tasks (they left it)."""
    db.session.execute(
        delete(TaskWatcher).where(
            TaskWatcher.project_id == project_id, TaskWatcher.user_id == user_id
        )
    )


def watch_from_comment(envelope: dict[str, Any]) -> None:
    """A comment's author and the users it mentions watch its task, while they can see
    its project (the task may be gone since: then nothing)."""
    data = envelope.get("data") or {}
    comment = data.get("comment") if isinstance(data.get("comment"), dict) else {}
    task_id = comment.get("task_id")
    if not isinstance(task_id, int):
        return
    task = db.session.get(Task, task_id)
    if task is None:
        return
    mentioned = data.get("mentioned_user_ids")
    candidates = [comment.get("author_id"), *(mentioned if isinstance(mentioned, list) else [])]
    wanted = {user_id for user_id in candidates if isinstance(user_id, int)}
    if not wanted:
        return
    audience = audience_ids(task.project_id)
    seeing = db.session.scalars(audience.where(audience.selected_columns.user_id.in_(wanted)))
    add_watchers(task, list(seeing))
