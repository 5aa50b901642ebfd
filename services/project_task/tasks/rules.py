"""The rules of a task edit: the assignee is a project member, the parent a task of the
same project that does not descend from this one, a task that open tasks block is not
done unless forced, ``completed_at`` follows ``done``; and the events an edit publishes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from services.common.auth import Principal
from services.common.db import utcnow
from services.common.errors import abort
from services.common.events import record_event
from services.project_task.access import role_of
from services.project_task.extensions import db
from services.project_task.models import Task
from services.project_task.relations.rules import check_not_blocked


def _ancestors(task_id: int) -> set[int]:
    """``task_id`` and every task above it (UNION, so even a bad cycle ends)."""
    chain = select(Task.id, Task.parent_id).where(Task.id == task_id).cte(recursive=True)
    chain = chain.union(select(Task.id, Task.parent_id).join(chain, Task.id == chain.c.parent_id))
    return set(db.session.scalars(select(chain.c.id)))


def _parent_error(task: Task, parent_id: int) -> str | None:
    parent_project = db.session.scalar(select(Task.project_id).where(Task.id == parent_id))
    if parent_project != task.project_id:
        return "No such task in this project."
    if task.id is not None and task.id in _ancestors(parent_id):
        return "A task cannot be its own parent or ancestor."
    return None


def check_references(task: Task, data: dict[str, Any]) -> None:
    """422 when a changed assignee or parent is outside the task's project."""
    errors: dict[str, list[str]] = {}
    assignee_id = data.get("assignee_id")
    changed = assignee_id is not None and assignee_id != task.assignee_id
    if changed and role_of(task.project_id, assignee_id) is None:
        errors["assignee_id"] = ["Not a member of this project."]
    parent_id = data.get("parent_id")
    if parent_id is not None and parent_id != task.parent_id:
        error = _parent_error(task, parent_id)
        if error:
            errors["parent_id"] = [error]
    if errors:
        abort(422, "The task refers to someone or something outside its project.", errors=errors)


def apply_edit(task: Task, data: dict[str, Any], principal: Principal) -> None:
    """Check and apply ``data`` to ``task``; ``completed_at`` is set on entering done and
    cleared on leaving it. Entering done while open tasks block it is 409 ``blocked``,
    unless ``data`` has ``force``."""
    fields = {name: value for name, value in data.items() if name != "force"}
    check_references(task, fields)
    was_done = task.status == "done"
    closing = fields.get("status") == "done" and not was_done and task.id is not None
    if closing and not data.get("force"):
        check_not_blocked(task, principal)
    for field, value in fields.items():
        setattr(task, field, value)
    if task.status == "done" and not was_done:
        task.completed_at = utcnow()
    elif task.status != "done":
        task.completed_at = None


def record_task_event(
    event_type: str,
    principal: Principal,
    task: Task,
    data: dict[str, Any],
    changes: dict[str, list[Any]] | None = None,
    **extra: Any,
) -> None:
    """An event about ``task`` (dumped as ``data``), with ``extra`` beside it in the data."""
    record_event(
        event_type,
        actor=principal,
        entity=("task", task.id),
        project_id=task.project_id,
        data={"task": data, **extra},
        changes=changes,
    )


def record_moved(
    principal: Principal, task: Task, data: dict[str, Any], old_status: str, old_position: int
) -> None:
    """task.moved: the task's column and place, before and after."""
    record_task_event(
        "task.moved",
        principal,
        task,
        data,
        {"status": [old_status, task.status], "position": [old_position, task.position]},
        **{
            "from": {"status": old_status, "position": old_position},
            "to": {"status": task.status, "position": task.position},
        },
    )


def record_update(
    principal: Principal, task: Task, data: dict[str, Any], changes: dict[str, list[Any]]
) -> None:
    """task.updated with every change, plus task.assigned and task.status_changed."""
    record_task_event("task.updated", principal, task, data, changes)
    if "assignee_id" in changes:
        record_task_event(
            "task.assigned", principal, task, data, {"assignee_id": changes["assignee_id"]}
        )
    if "status" in changes:
        record_task_event(
            "task.status_changed", principal, task, data, {"status": changes["status"]}
        )
