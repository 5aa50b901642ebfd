"""Task watchers: who watches a task, and watching or unwatching it yourself.

``POST``/``DELETE /api/tasks/{id}/watch`` and their other spelling ``PUT``/``DELETE
/api/tasks/{id}/watchers/me`` are idempotent: watching twice leaves one watch, and
only a real change publishes ``task.watched`` / ``task.unwatched``. Anyone who can see
the task may watch it (viewers too); a task you cannot see is a 404.
"""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from services.common.auth import Principal, current_principal, require_auth
from services.common.events import record_event
from services.common.pagination import PageArgsSchema, paginate, with_link
from services.project_task.access import load_task
from services.project_task.extensions import db
from services.project_task.models import Task, TaskWatcher
from services.project_task.watchers.rules import add_watchers, remove_watcher
from services.project_task.watchers.schemas import WatcherPageSchema, WatchSchema

blp = Blueprint("watchers", __name__, url_prefix="/api/tasks/<int:task_id>", description="Watchers")


def _record(event_type: str, principal: Principal, task: Task) -> None:
    record_event(
        event_type,
        actor=principal,
        entity=("task", task.id),
        project_id=task.project_id,
        data={"task": {"id": task.id, "title": task.title}, "user_id": principal.id},
    )


def watch(task_id: int) -> dict:
    """The caller watches the task (no change if they already do)."""
    principal = current_principal()
    task, _ = load_task(task_id, principal)
    if add_watchers(task, [principal.id]):
        _record("task.watched", principal, task)
    db.session.commit()
    return {"task_id": task.id, "user_id": principal.id, "watching": True}


def unwatch(task_id: int) -> None:
    """The caller stops watching the task (no change if they do not)."""
    principal = current_principal()
    task, _ = load_task(task_id, principal)
    if remove_watcher(task, principal.id):
        _record("task.unwatched", principal, task)
    db.session.commit()


@blp.route("/watchers")
class Watchers(MethodView):
    decorators = [require_auth(scope="tasks")]

    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, WatcherPageSchema)
    def get(self, args, task_id: int):
        """Who watches the task (anyone who can see it), by user id."""
        load_task(task_id, current_principal())
        query = (
            select(TaskWatcher).where(TaskWatcher.task_id == task_id).order_by(TaskWatcher.user_id)
        )
        return with_link(paginate(db.session, query, args["page"], args["per_page"]))


@blp.route("/watch")
class Watch(MethodView):
    decorators = [require_auth(scope="tasks")]

    @blp.response(200, WatchSchema)
    def post(self, task_id: int):
        """Watch the task (idempotent): hear about its changes and comments."""
        return watch(task_id)

    @blp.response(204)
    def delete(self, task_id: int):
        """Stop watching the task (idempotent)."""
        unwatch(task_id)


@blp.route("/watchers/me")
class MyWatch(MethodView):
    decorators = [require_auth(scope="tasks")]

    @blp.response(200, WatchSchema)
    def put(self, task_id: int):
        """Watch the task (idempotent); the same as POST /watch."""
        return watch(task_id)

    @blp.response(204)
    def delete(self, task_id: int):
        """Stop watching the task (idempotent); the same as DELETE /watch."""
        unwatch(task_id)
