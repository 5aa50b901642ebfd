"""Tasks: a project's tasks, the caller's tasks across projects, one task, and a copy
of one."""

from __future__ import annotations

from typing import Any

from flask import jsonify, url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select, update

from services.common.auth import Principal, current_principal, require_auth
from services.common.concurrency import check_if_match, etag_of
from services.common.db import utcnow
from services.common.errors import abort
from services.common.idempotency import idempotent
from services.common.pagination import paginate, with_link
from services.project_task.access import across_projects, allows, check_project, load_task
from services.project_task.board import place, place_at_end
from services.project_task.changes import changes_between
from services.project_task.copying import copy_tasks
from services.project_task.extensions import db
from services.project_task.locks import lock_project
from services.project_task.models import Task
from services.project_task.relations.rules import remove_relations_of
from services.project_task.tasks.queries import subtree, task_list
from services.project_task.tasks.rules import (
    apply_edit,
    record_moved,
    record_task_event,
    record_update,
)
from services.project_task.tasks.schemas import (
    AllTasksArgsSchema,
    TaskDuplicateSchema,
    TaskListArgsSchema,
    TaskMoveSchema,
    TaskPageSchema,
    TaskReplaceSchema,
    TaskSchema,
    TaskUpdateSchema,
)
from services.project_task.time_entries.rules import forget_time_of_tasks
from services.project_task.watchers.rules import add_watchers

blp = Blueprint("tasks", __name__, url_prefix="/api", description="Tasks")

_schema = TaskSchema()


def _version(representation: dict[str, Any]) -> dict[str, Any]:
    """What a task's ETag covers: all it shows but its position, which a renumbering of
    its column may change without anyone touching the task."""
    return {field: value for field, value in representation.items() if field != "position"}


def _answer(representation: dict[str, Any], status: int = 200, **headers: str):
    """A task dumped once for the body and its ``ETag``."""
    return jsonify(representation), status, {"ETag": etag_of(_version(representation)), **headers}


def _with_etag(task: Task, status: int = 200, **headers: str):
    return _answer(_schema.dump(task), status, **headers)


def _page(query, args: dict):
    page = paginate(
        db.session, task_list(query, args, current_principal()), args["page"], args["per_page"]
    )
    return with_link(page)


@blp.route("/projects/<int:project_id>/tasks")
class ProjectTasks(MethodView):
    decorators = [require_auth(scope="tasks")]

    @blp.arguments(TaskListArgsSchema, location="query")
    @blp.response(200, TaskPageSchema)
    def get(self, args, project_id: int):
        """The project's tasks, filtered, sorted and paginated."""
        check_project(project_id, current_principal())
        return _page(select(Task).where(Task.project_id == project_id), args)

    @idempotent
    @blp.arguments(TaskReplaceSchema)
    @blp.response(201, TaskSchema)
    def post(self, data, project_id: int):
        """Create a task in the project (members and up)."""
        principal = current_principal()
        check_project(project_id, principal, "member")
        task = Task(project_id=project_id, reporter_id=principal.id)
        apply_edit(task, data, principal)
        place_at_end(task)
        db.session.add(task)
        db.session.flush()
        _record_created(principal, task)
        db.session.commit()
        return _with_etag(task, 201, Location=url_for("tasks.TaskById", task_id=task.id))


def _record_created(principal: Principal, task: Task, **extra: Any) -> None:
    """task.created (with ``extra`` in its data), and task.assigned when the new task
    has an assignee; its reporter and assignee watch it."""
    add_watchers(task, [task.reporter_id, task.assignee_id])
    dump = _schema.dump(task)
    record_task_event("task.created", principal, task, dump, **extra)
    if task.assignee_id is not None:
        changes = {"assignee_id": [None, task.assignee_id]}
        record_task_event("task.assigned", principal, task, dump, changes)


@blp.route("/tasks")
class Tasks(MethodView):
    decorators = [require_auth(scope="tasks")]

    @blp.arguments(AllTasksArgsSchema, location="query")
    @blp.response(200, TaskPageSchema)
    def get(self, args):
        """Tasks across the projects you can see (assignee_id=me for yours; global
        admins: all=true)."""
        principal = current_principal()
        query = across_projects(select(Task), Task.project_id, args, principal, "tasks")
        return _page(query, args)


@blp.route("/tasks/<int:task_id>")
class TaskById(MethodView):
    decorators = [require_auth(scope="tasks")]

    @blp.response(200, TaskSchema)
    def get(self, task_id: int):
        """One task."""
        task, _ = load_task(task_id, current_principal())
        return _with_etag(task)

    @blp.arguments(TaskReplaceSchema)
    @blp.response(200, TaskSchema)
    @blp.alt_response(409, response="CONFLICT")
    def put(self, data, task_id: int):
        """Replace a task's editable fields (members and up); done while open tasks block
        it is 409 blocked unless force."""
        return self._update(task_id, data)

    @blp.arguments(TaskUpdateSchema)
    @blp.response(200, TaskSchema)
    @blp.alt_response(409, response="CONFLICT")
    def patch(self, data, task_id: int):
        """Change some of a task's fields (members and up); done while open tasks block
        it is 409 blocked unless force."""
        return self._update(task_id, data)

    @blp.response(204)
    def delete(self, task_id: int):
        """Delete a task (its reporter, or project admins); its subtasks lose their
        parent, its relations go with it."""
        principal = current_principal()
        task, role = load_task(task_id, principal, "member")
        if task.reporter_id != principal.id and not allows(role, principal, "admin"):
            abort(403, "Only the reporter or a project admin can delete this task.")
        dump = _schema.dump(task)
        check_if_match(_version(dump))
        record_task_event("task.deleted", principal, task, dump)
        forget_time_of_tasks([task.id])
        db.session.execute(
            update(Task)
            .where(Task.parent_id == task.id)
            .values(parent_id=None, updated_at=utcnow())
        )
        remove_relations_of([task.id])
        db.session.delete(task)
        db.session.commit()

    def _update(self, task_id: int, data: dict):
        principal = current_principal()
        task, _ = load_task(task_id, principal, "member")
        moving = data.get("status", task.status) != task.status
        if moving:
            # A new column: the task goes to its end, under the project's lock.
            lock_project(task.project_id)
            db.session.refresh(task)
            moving = data["status"] != task.status
        before = _schema.dump(task)
        check_if_match(_version(before))
        with db.session.no_autoflush:
            apply_edit(task, data, principal)
            if moving:
                task.position = place(task, task.status, None, None)
        changes = changes_between(before, _schema.dump(task))
        if changes:
            # Labels live in their own table: touch the task so updated_at always moves.
            task.updated_at = utcnow()
            after = _schema.dump(task)
            record_update(principal, task, after, changes)
            if "assignee_id" in changes:
                add_watchers(task, [task.assignee_id])
            if moving:
                record_moved(principal, task, after, before["status"], before["position"])
        db.session.commit()
        return _with_etag(task)


@blp.route("/tasks/<int:task_id>/move")
class TaskMove(MethodView):
    decorators = [require_auth(scope="tasks")]

    @blp.arguments(TaskMoveSchema)
    @blp.response(200, TaskSchema)
    @blp.alt_response(409, response="CONFLICT")
    def post(self, data, task_id: int):
        """Place a task on its project's board (members and up): in column status (default:
        its own), right after after_id, right before before_id, or at the end."""
        principal = current_principal()
        task, _ = load_task(task_id, principal, "member")
        lock_project(task.project_id)
        # As committed by the writer this one waited for.
        db.session.refresh(task)
        before = _schema.dump(task)
        check_if_match(_version(before))
        status = data.get("status", task.status)
        with db.session.no_autoflush:
            if status != task.status:
                apply_edit(task, {"status": status, "force": data.get("force")}, principal)
            task.position = place(task, status, data.get("before_id"), data.get("after_id"))
        task.updated_at = utcnow()
        after = _schema.dump(task)
        changes = changes_between(before, after)
        if "status" in changes:
            record_update(principal, task, after, changes)
        record_moved(principal, task, after, before["status"], before["position"])
        db.session.commit()
        # The task as this move left it: read again after the commit, it could already
        # show the next move's place.
        return _answer(after)


@blp.route("/tasks/<int:task_id>/duplicate")
class TaskDuplicate(MethodView):
    decorators = [require_auth(scope="tasks")]

    @idempotent
    @blp.arguments(TaskDuplicateSchema)
    @blp.response(201, TaskSchema)
    def post(self, data, task_id: int):
        """Copy a task in its project (members and up): its fields and labels, and with
        with_subtasks every task below it; the copy starts as todo."""
        principal = current_principal()
        task, _ = load_task(task_id, principal, "member")
        source = (
            subtree(task.id) if data["with_subtasks"] else select(Task.id).where(Task.id == task.id)
        )
        copied = copy_tasks(
            source,
            project_id=task.project_id,
            reporter_id=principal.id,
            keep_assignees=True,
            keep_outside_parents=True,
        )
        copy, _ = load_task(copied.ids[task.id], principal)
        if "title" in data:
            copy.title = data["title"]
            db.session.flush()
        _record_created(
            principal,
            copy,
            duplicated_from=task.id,
            copied_task_ids=sorted(copied.ids.values()),
        )
        db.session.commit()
        return _with_etag(copy, 201, Location=url_for("tasks.TaskById", task_id=copy.id))
