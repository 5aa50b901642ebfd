"""Task relations: a task's relations seen from its side, adding one, removing one."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import case, select
from sqlalchemy.orm import aliased, joinedload

from services.common.auth import Principal, current_principal, require_auth
from services.common.concurrency import check_if_match, etag_of
from services.common.contracts import RELATION_INVERSES
from services.common.errors import abort
from services.common.events import record_event
from services.common.idempotency import idempotent
from services.common.pagination import PageArgsSchema, paginate, with_link
from services.project_task.access import load_task, require_role, task_role, visible_to
from services.project_task.extensions import db
from services.project_task.locks import lock_project, lock_workspaces
from services.project_task.models import Project, Task, TaskRelation
from services.project_task.relations.rules import reaches, same_pair, touching
from services.project_task.relations.schemas import (
    RelatedTaskSchema,
    RelationCreateSchema,
    RelationPageSchema,
    RelationSchema,
)

blp = Blueprint(
    "relations",
    __name__,
    url_prefix="/api/tasks/<int:task_id>/relations",
    description="Task relations",
)

_schema = RelationSchema()
_related_schema = RelatedTaskSchema()


def seen_from(relation: TaskRelation, task_id: int) -> dict[str, Any]:
    """The relation as the task ``task_id`` sees it (the other task's side inverted)."""
    mine = relation.source_id == task_id
    other = relation.target if mine else relation.source
    return {
        "id": relation.id,
        "type": relation.type if mine else RELATION_INVERSES[relation.type],
        "task_id": other.id,
        "task": other,
        "created_by": relation.created_by,
        "created_at": relation.created_at,
    }


def _with_etag(view: dict[str, Any], status: int = 200, **headers: str):
    return view, status, {"ETag": etag_of(_schema.dump(view)), **headers}


def _other_end(task_id: int) -> Any:
    """SQL: the id of the task at the other end of a relation of ``task_id``."""
    return case(
        (TaskRelation.source_id == task_id, TaskRelation.target_id), else_=TaskRelation.source_id
    )


def _relations_of(task_id: int, principal: Principal):
    """The task's relations whose other task the caller can see, both ends loaded."""
    other = aliased(Task)
    return (
        select(TaskRelation)
        .join(other, other.id == _other_end(task_id))
        .where(touching([task_id]), visible_to(principal, other.project_id))
        .options(joinedload(TaskRelation.source), joinedload(TaskRelation.target))
    )


def _load_relation(task_id: int, relation_id: int, principal: Principal) -> TaskRelation:
    query = _relations_of(task_id, principal).where(TaskRelation.id == relation_id)
    relation = db.session.scalar(query)
    if relation is None:
        abort(404, "No such relation of this task.")
    return relation


def _record(event_type: str, principal: Principal, relation: TaskRelation, task: Task) -> None:
    """A relation event about ``task`` (the task in the path; one event per change)."""
    other = relation.target if relation.source_id == task.id else relation.source
    record_event(
        event_type,
        actor=principal,
        entity=("task", task.id),
        project_id=task.project_id,
        data={
            "relation": {
                "id": relation.id,
                "type": relation.type,
                "source_id": relation.source_id,
                "target_id": relation.target_id,
            },
            "task": _related_schema.dump(task),
            "related_task": _related_schema.dump(other),
        },
    )


def _lock_scope(task: Task, other: Task) -> None:
    """Hold the locks every ``blocks`` chain through these tasks is written under (see
    :mod:`services.project_task.locks`); 422 unless both tasks are in one project or in
    projects of one workspace."""
    _, workspace_id = lock_project(task.project_id)
    lock_workspaces([workspace_id])
    if other.project_id == task.project_id:
        return
    other_workspace = db.session.scalar(
        select(Project.workspace_id).where(Project.id == other.project_id)
    )
    if workspace_id is None or other_workspace != workspace_id:
        abort(
            422,
            "Tasks are related only within one project or one workspace.",
            errors={"task_id": ["In a project outside this task's project and workspace."]},
        )


@blp.route("")
class TaskRelations(MethodView):
    decorators = [require_auth(scope="tasks")]

    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, RelationPageSchema)
    def get(self, args, task_id: int):
        """The task's relations, from its side (those whose other task you can see)."""
        principal = current_principal()
        load_task(task_id, principal)
        query = _relations_of(task_id, principal).order_by(TaskRelation.id)
        page = paginate(db.session, query, args["page"], args["per_page"])
        page["items"] = [seen_from(relation, task_id) for relation in page["items"]]
        return with_link(page)

    @idempotent
    @blp.arguments(RelationCreateSchema)
    @blp.response(201, RelationSchema)
    @blp.alt_response(409, response="CONFLICT")
    def post(self, data, task_id: int):
        """Relate the task to another (members of both tasks' projects). A ``blocks``
        relation that would close a cycle is refused."""
        principal = current_principal()
        task, _ = load_task(task_id, principal, "member")
        other, other_role = task_role(data["task_id"], principal.id)
        if other is None or (other_role is None and not principal.is_admin):
            abort(404, "No such task to relate to.")
        require_role(other_role, principal, "member")
        if other.id == task.id:
            abort(422, "A task cannot be related to itself.", errors={"task_id": ["This task."]})
        relation_type = data["type"]
        source, target = task, other
        if relation_type == "relates_to" and source.id > target.id:
            source, target = target, source
        _lock_scope(task, other)
        if db.session.scalar(
            select(TaskRelation.id).where(same_pair(relation_type, task.id, other.id))
        ):
            abort(409, "These tasks are already related this way.", code="conflict")
        if relation_type == "blocks" and reaches(target.id, source.id):
            abort(
                422,
                "The relation would make a cycle of blocking tasks.",
                errors={"task_id": ["Already blocks this task, directly or through others."]},
            )
        relation = TaskRelation(
            type=relation_type, source=source, target=target, created_by=principal.id
        )
        db.session.add(relation)
        db.session.flush()
        _record("task.relation_added", principal, relation, task)
        view = seen_from(relation, task.id)
        db.session.commit()
        location = url_for("relations.TaskRelationById", task_id=task.id, relation_id=relation.id)
        return _with_etag(view, 201, Location=location)


@blp.route("/<int:relation_id>")
class TaskRelationById(MethodView):
    decorators = [require_auth(scope="tasks")]

    @blp.response(200, RelationSchema)
    def get(self, task_id: int, relation_id: int):
        """One relation of the task, from its side."""
        principal = current_principal()
        load_task(task_id, principal)
        return _with_etag(seen_from(_load_relation(task_id, relation_id, principal), task_id))

    @blp.response(204)
    def delete(self, task_id: int, relation_id: int):
        """Remove a relation (members of both tasks' projects)."""
        principal = current_principal()
        task, _ = load_task(task_id, principal, "member")
        relation = _load_relation(task_id, relation_id, principal)
        view = seen_from(relation, task_id)
        other = view["task"]
        _, other_role = task_role(other.id, principal.id)
        require_role(other_role, principal, "member")
        check_if_match(_schema.dump(view))
        _record("task.relation_removed", principal, relation, task)
        db.session.delete(relation)
        db.session.commit()
