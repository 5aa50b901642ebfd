"""Tasks: a project's tasks, the caller's tasks across projects, and one task (SPEC §4)."""

from __future__ import annotations

from flask import url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select, update

from services.common.auth import current_principal, require_auth
from services.common.concurrency import check_if_match, etag_of
from services.common.db import utcnow
from services.common.errors import abort
from services.common.idempotency import idempotent
from services.common.pagination import paginate, with_link
from services.project_task.access import across_projects, allows, check_project, load_task
from services.project_task.changes import changes_between
from services.project_task.extensions import db
from services.project_task.models import Task
from services.project_task.tasks.queries import task_list
from services.project_task.tasks.rules import apply_edit, record_task_event, record_update
from services.project_task.tasks.schemas import (
    AllTasksArgsSchema,
    TaskListArgsSchema,
    TaskPageSchema,
    TaskReplaceSchema,
    TaskSchema,
    TaskUpdateSchema,
)
from services.project_task.time_entries.rules import forget_time_of_tasks

blp = Blueprint("tasks", __name__, url_prefix="/api", description="Tasks")

_schema = TaskSchema()


def _with_etag(task: Task, status: int = 200, **headers: str):
    return task, status, {"ETag": etag_of(_schema.dump(task)), **headers}


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
        apply_edit(task, data)
        db.session.add(task)
        db.session.flush()
        dump = _schema.dump(task)
        record_task_event("task.created", principal, task, dump)
        if task.assignee_id is not None:
            changes = {"assignee_id": [None, task.assignee_id]}
            record_task_event("task.assigned", principal, task, dump, changes)
        db.session.commit()
        return _with_etag(task, 201, Location=url_for("tasks.TaskById", task_id=task.id))


@blp.route("/tasks")
class Tasks(MethodView):
    decorators = [require_auth(scope="tasks")]

    @blp.arguments(AllTasksArgsSchema, location="query")
    @blp.response(200, TaskPageSchema)
    def get(self, args):
        """Tasks across your projects (assignee_id=me for yours; global admins: all=true)."""
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
    def put(self, data, task_id: int):
        """Replace a task's editable fields (members and up)."""
        return self._update(task_id, data)

    @blp.arguments(TaskUpdateSchema)
    @blp.response(200, TaskSchema)
    def patch(self, data, task_id: int):
        """Change some of a task's fields (members and up)."""
        return self._update(task_id, data)

    @blp.response(204)
    def delete(self, task_id: int):
        """Delete a task (its reporter, or project admins); its subtasks lose their parent."""
        principal = current_principal()
        task, role = load_task(task_id, principal, "member")
        if task.reporter_id != principal.id and not allows(role, principal, "admin"):
            abort(403, "Only the reporter or a project admin can delete this task.")
        dump = _schema.dump(task)
        check_if_match(dump)
        record_task_event("task.deleted", principal, task, dump)
        forget_time_of_tasks([task.id])
        db.session.execute(
            update(Task)
            .where(Task.parent_id == task.id)
            .values(parent_id=None, updated_at=utcnow())
        )
        db.session.delete(task)
        db.session.commit()

    def _update(self, task_id: int, data: dict):
        principal = current_principal()
        task, _ = load_task(task_id, principal, "member")
        before = _schema.dump(task)
        check_if_match(before)
        apply_edit(task, data)
        changes = changes_between(before, _schema.dump(task))
        if changes:
            # Labels live in their own table: touch the task so updated_at always moves.
            task.updated_at = utcnow()
            record_update(principal, task, _schema.dump(task), changes)
        db.session.commit()
        return _with_etag(task)
