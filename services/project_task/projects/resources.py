"""Projects: list, create (from a template too), read, edit, move, delete."""

from __future__ import annotations

from datetime import date, timedelta

from flask import url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import Select, delete, func, select

from services.common.auth import Principal, current_principal, require_auth
from services.common.concurrency import check_if_match, etag_of
from services.common.contracts import PRIORITIES, PROJECT_STATUSES
from services.common.db import utcnow
from services.common.errors import abort
from services.common.events import record_event
from services.common.idempotency import idempotent
from services.common.pagination import paginate, with_link
from services.common.query_args import LIKE_ESCAPE, order_by, search_pattern
from services.project_task.access import load_project, project_query
from services.project_task.changes import changes_between
from services.project_task.copying import copy_tasks
from services.project_task.extensions import db
from services.project_task.models import Project, ProjectMember, Task, TaskLabel, rank_of
from services.project_task.projects.placement import check_visibility, move, require_can_enter
from services.project_task.projects.schemas import (
    ProjectCreateSchema,
    ProjectEventSchema,
    ProjectListArgsSchema,
    ProjectPageSchema,
    ProjectReplaceSchema,
    ProjectSchema,
    ProjectUpdateSchema,
)
from services.project_task.relations.rules import remove_relations_of
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


def filtered_projects(query: Select, args: dict) -> Select:
    """``query`` narrowed by a project list's filters and sorted."""
    if "status" in args:
        query = query.where(Project.status.in_(args["status"]))
    if "is_template" in args:
        query = query.where(Project.is_template.is_(args["is_template"]))
    if "q" in args:
        query = query.where(Project.name.ilike(search_pattern(args["q"]), escape=LIKE_ESCAPE))
    nullable = ("start_date", "end_date")
    return query.order_by(*order_by(args["sort"], SORT_COLUMNS, Project.id, nullable))


def _template_start(template: Project) -> date | None:
    """The day a template's schedule starts: its start_date, else its earliest due date."""
    if template.start_date is not None:
        return template.start_date
    return db.session.scalar(select(func.min(Task.due_date)).where(Task.project_id == template.id))


def _from_template(template_id: int, data: dict, principal: Principal) -> tuple[Project, timedelta]:
    """The template to copy (404 unless the caller can see it, 422 unless it is one) and
    the shift of its dates; fills the new project's start (today by default), its end and
    description from the template when not given."""
    template = load_project(template_id, principal)
    if not template.is_template:
        abort(
            422,
            "Only a template can be copied into a new project.",
            errors={"from_template": ["Not a template (is_template is false)."]},
        )
    if data["start_date"] is None:
        data["start_date"] = utcnow().date()
    anchor = _template_start(template)
    shift = timedelta(0) if anchor is None else data["start_date"] - anchor
    if data["end_date"] is None and template.end_date is not None:
        data["end_date"] = template.end_date + shift
    if data["description"] is None:
        data["description"] = template.description
    return template, shift


@blp.route("")
class Projects(MethodView):
    decorators = [require_auth(scope="projects")]

    @blp.arguments(ProjectListArgsSchema, location="query")
    @blp.response(200, ProjectPageSchema)
    def get(self, args):
        """Projects you can see (global admins: every project with all=true)."""
        principal = current_principal()
        if args["all"] and not principal.is_admin:
            abort(403, "Only admins can list every project.", code="forbidden")
        query = filtered_projects(project_query(principal, everything=args["all"]), args)
        page = paginate(db.session, query, args["page"], args["per_page"])
        return with_link(page)

    @idempotent
    @blp.arguments(ProjectCreateSchema)
    @blp.response(201, ProjectSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def post(self, data):
        """Create a project, empty or from a template; you become its owner."""
        principal = current_principal()
        template_id = data.pop("from_template", None)
        if data["workspace_id"] is not None:
            require_can_enter(data["workspace_id"], principal)
        check_visibility(data["workspace_id"], data["visibility"])
        template = shift = None
        if template_id is not None:
            template, shift = _from_template(template_id, data, principal)
        _check_dates(data["start_date"], data["end_date"])
        project = Project(owner_id=principal.id, **data)
        db.session.add(project)
        db.session.flush()
        db.session.add(ProjectMember(project_id=project.id, user_id=principal.id, role="owner"))
        copied: dict = {}
        if template is not None:
            tasks = select(Task.id).where(Task.project_id == template.id)
            made = copy_tasks(tasks, project_id=project.id, reporter_id=principal.id, shift=shift)
            copied = {
                "from_template": template.id,
                "tasks_copied": len(made.ids),
                "relations_copied": made.relations,
                "due_date_shift_days": shift.days,
            }
        record_event(
            "project.created",
            actor=principal,
            entity=("project", project.id),
            project_id=project.id,
            data={**_event_schema.dump(project), **copied},
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
        """Replace a project's descriptive fields (project admins); where it sits and
        is_template change with PATCH."""
        return self._update(project_id, data)

    @blp.arguments(ProjectUpdateSchema)
    @blp.response(200, ProjectSchema)
    def patch(self, data, project_id: int):
        """Change some of a project's fields (project admins), or move it in or out of a
        workspace (see the workspace_id field)."""
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
        remove_relations_of(task_ids)
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
        relations_removed = move(project, data, principal)
        before = _event_schema.dump(project)
        for field, value in data.items():
            setattr(project, field, value)
        changes = changes_between(before, _event_schema.dump(project))
        if changes:
            extra = {"relations_removed": relations_removed} if "workspace_id" in changes else {}
            record_event(
                "project.updated",
                actor=principal,
                entity=("project", project.id),
                project_id=project.id,
                data={**_event_schema.dump(project), **extra},
                changes=changes,
            )
        db.session.commit()
        # Read back as changed, even when the change (a move) took it out of your sight.
        query = project_query(principal, everything=True).where(Project.id == project_id)
        return _with_etag(db.session.scalar(query.execution_options(populate_existing=True)))
