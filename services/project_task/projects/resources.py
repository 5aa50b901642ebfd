"""Projects: list, create, read, edit, delete (SPEC §4)."""

from __future__ import annotations

from datetime import date

from flask import url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import delete, select

from services.common.auth import current_principal, require_auth
from services.common.concurrency import check_if_match, etag_of
from services.common.contracts import PRIORITIES, PROJECT_STATUSES
from services.common.errors import abort
from services.common.events import record_event
from services.common.idempotency import idempotent
from services.common.pagination import paginate, with_link
from services.common.query_args import LIKE_ESCAPE, order_by, search_pattern
from services.project_task.access import load_project, project_query
from services.project_task.changes import changes_between
from services.project_task.extensions import db
from services.project_task.models import Project, ProjectMember, Task, TaskLabel, rank_of
from services.project_task.projects.schemas import (
    ProjectEventSchema,
    ProjectListArgsSchema,
    ProjectPageSchema,
    ProjectReplaceSchema,
    ProjectSchema,
    ProjectUpdateSchema,
)
from services.project_task.time_entries.rules import forget_time_of_tasks

blp = Blueprint("projects", __name__, url_prefix="/api/projects", description="Projects")

_schema = ProjectSchema()
_event_schema = ProjectEventSchema()
SORT_COLUMNS = {
    "name": Project.name,
    "status": rank_of(Project.status, PROJECT_STATUSES),
    "priority": rank_of(Project.priority, PRIORITIES),
    "start_date": Project.start_date,
    "end_date": Project.end_date,
    "created_at": Project.created_at,
    "updated_at": Project.updated_at,
}


def _with_etag(project: Project, status: int = 200, **headers: str):
    return project, status, {"ETag": etag_of(_schema.dump(project)), **headers}


def _check_dates(start: date | None, end: date | None) -> None:
    if start and end and end < start:
        abort(
            422, "The project ends before it starts.", errors={"end_date": ["Before start_date."]}
        )


@blp.route("")
class Projects(MethodView):
    decorators = [require_auth(scope="projects")]

    @blp.arguments(ProjectListArgsSchema, location="query")
    @blp.response(200, ProjectPageSchema)
    def get(self, args):
        """Projects you belong to (global admins: every project with all=true)."""
        principal = current_principal()
        if args["all"] and not principal.is_admin:
            abort(403, "Only admins can list every project.", code="forbidden")
        query = project_query(principal, everything=args["all"])
        if "status" in args:
            query = query.where(Project.status.in_(args["status"]))
        if "q" in args:
            query = query.where(Project.name.ilike(search_pattern(args["q"]), escape=LIKE_ESCAPE))
        nullable = ("start_date", "end_date")
        query = query.order_by(*order_by(args["sort"], SORT_COLUMNS, Project.id, nullable))
        page = paginate(db.session, query, args["page"], args["per_page"])
        return with_link(page)

    @idempotent
    @blp.arguments(ProjectReplaceSchema)
    @blp.response(201, ProjectSchema)
    def post(self, data):
        """Create a project; you become its owner."""
        principal = current_principal()
        _check_dates(data["start_date"], data["end_date"])
        project = Project(owner_id=principal.id, **data)
        db.session.add(project)
        db.session.flush()
        db.session.add(ProjectMember(project_id=project.id, user_id=principal.id, role="owner"))
        record_event(
            "project.created",
            actor=principal,
            entity=("project", project.id),
            project_id=project.id,
            data=_event_schema.dump(project),
        )
        db.session.commit()
        location = url_for("projects.ProjectById", project_id=project.id)
        return _with_etag(load_project(project.id, principal), 201, Location=location)


@blp.route("/<int:project_id>")
class ProjectById(MethodView):
    decorators = [require_auth(scope="projects")]

    @blp.response(200, ProjectSchema)
    def get(self, project_id: int):
        """One project."""
        return _with_etag(load_project(project_id, current_principal()))

    @blp.arguments(ProjectReplaceSchema)
    @blp.response(200, ProjectSchema)
    def put(self, data, project_id: int):
        """Replace a project's editable fields (project admins)."""
        return self._update(project_id, data)

    @blp.arguments(ProjectUpdateSchema)
    @blp.response(200, ProjectSchema)
    def patch(self, data, project_id: int):
        """Change some of a project's fields (project admins)."""
        return self._update(project_id, data)

    @blp.response(204)
    def delete(self, project_id: int):
        """Delete a project with its members and tasks (the owner only)."""
        principal = current_principal()
        project = load_project(project_id, principal, "owner")
        check_if_match(_schema.dump(project))
        record_event(
            "project.deleted",
            actor=principal,
            entity=("project", project.id),
            project_id=project.id,
            data=_event_schema.dump(project),
        )
        # Explicit deletes rather than ON DELETE CASCADE, which SQLite ignores by default.
        task_ids = select(Task.id).where(Task.project_id == project_id)
        db.session.execute(delete(TaskLabel).where(TaskLabel.task_id.in_(task_ids)))
        forget_time_of_tasks(task_ids)
        db.session.execute(delete(Task).where(Task.project_id == project_id))
        db.session.execute(delete(ProjectMember).where(ProjectMember.project_id == project_id))
        db.session.execute(delete(Project).where(Project.id == project_id))
        db.session.commit()

    def _update(self, project_id: int, data: dict):
        principal = current_principal()
        project = load_project(project_id, principal, "admin")
        check_if_match(_schema.dump(project))
        _check_dates(
            data.get("start_date", project.start_date), data.get("end_date", project.end_date)
        )
        before = _event_schema.dump(project)
        for field, value in data.items():
            setattr(project, field, value)
        changes = changes_between(before, _event_schema.dump(project))
        if changes:
            record_event(
                "project.updated",
                actor=principal,
                entity=("project", project.id),
                project_id=project.id,
                data=_event_schema.dump(project),
                changes=changes,
            )
        db.session.commit()
        return _with_etag(load_project(project_id, principal))
