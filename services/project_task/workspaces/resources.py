"""Workspaces: list, create, read, edit, delete, and the projects of one."""

from __future__ import annotations

from flask import url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import delete, select

from services.common.auth import current_principal, require_auth
from services.common.concurrency import check_if_match, etag_of
from services.common.errors import abort
from services.common.events import record_event
from services.common.idempotency import idempotent
from services.common.pagination import paginate, with_link
from services.common.query_args import LIKE_ESCAPE, order_by, search_pattern
from services.project_task.access import (
    check_workspace,
    load_workspace,
    project_query,
    workspace_query,
)
from services.project_task.changes import changes_between
from services.project_task.extensions import db
from services.project_task.models import Project, Workspace, WorkspaceMember
from services.project_task.projects.placement import detach_workspace
from services.project_task.projects.resources import filtered_projects
from services.project_task.projects.schemas import ProjectPageSchema, WorkspaceProjectArgsSchema
from services.project_task.workspaces.schemas import (
    WorkspaceCreateSchema,
    WorkspaceEventSchema,
    WorkspaceListArgsSchema,
    WorkspacePageSchema,
    WorkspaceSchema,
    WorkspaceUpdateSchema,
)

blp = Blueprint("workspaces", __name__, url_prefix="/api/workspaces", description="Workspaces")

_schema = WorkspaceSchema()
_event_schema = WorkspaceEventSchema()
SORT_COLUMNS = {
    "name": Workspace.name,
    "created_at": Workspace.created_at,
    "updated_at": Workspace.updated_at,
}


def _with_etag(workspace: Workspace, status: int = 200, **headers: str):
    return workspace, status, {"ETag": etag_of(_schema.dump(workspace)), **headers}


def _record(event_type: str, workspace: Workspace, **kwargs) -> None:
    record_event(
        event_type,
        actor=current_principal(),
        entity=("workspace", workspace.id),
        data={"workspace": _event_schema.dump(workspace), **kwargs.pop("data", {})},
        **kwargs,
    )


@blp.route("")
class Workspaces(MethodView):
    decorators = [require_auth(scope="projects")]

    @blp.arguments(WorkspaceListArgsSchema, location="query")
    @blp.response(200, WorkspacePageSchema)
    def get(self, args):
        """Workspaces you belong to (global admins: every workspace with all=true)."""
        principal = current_principal()
        if args["all"] and not principal.is_admin:
            abort(403, "Only admins can list every workspace.", code="forbidden")
        query = workspace_query(principal, everything=args["all"])
        if "q" in args:
            pattern = search_pattern(args["q"])
            query = query.where(Workspace.name.ilike(pattern, escape=LIKE_ESCAPE))
        query = query.order_by(*order_by(args["sort"], SORT_COLUMNS, Workspace.id))
        return with_link(paginate(db.session, query, args["page"], args["per_page"]))

    @idempotent
    @blp.arguments(WorkspaceCreateSchema)
    @blp.response(201, WorkspaceSchema)
    def post(self, data):
        """Create a workspace; you become its owner."""
        principal = current_principal()
        workspace = Workspace(owner_id=principal.id, **data)
        db.session.add(workspace)
        db.session.flush()
        db.session.add(
            WorkspaceMember(workspace_id=workspace.id, user_id=principal.id, role="owner")
        )
        _record("workspace.created", workspace)
        db.session.commit()
        location = url_for("workspaces.WorkspaceById", workspace_id=workspace.id)
        return _with_etag(load_workspace(workspace.id, principal), 201, Location=location)


@blp.route("/<int:workspace_id>")
class WorkspaceById(MethodView):
    decorators = [require_auth(scope="projects")]

    @blp.response(200, WorkspaceSchema)
    def get(self, workspace_id: int):
        """One workspace (its members)."""
        return _with_etag(load_workspace(workspace_id, current_principal()))

    @blp.arguments(WorkspaceUpdateSchema)
    @blp.response(200, WorkspaceSchema)
    def patch(self, data, workspace_id: int):
        """Change a workspace's name or description (workspace admins)."""
        principal = current_principal()
        workspace = load_workspace(workspace_id, principal, "admin")
        check_if_match(_schema.dump(workspace))
        before = _event_schema.dump(workspace)
        for field, value in data.items():
            setattr(workspace, field, value)
        changes = changes_between(before, _event_schema.dump(workspace))
        if changes:
            _record("workspace.updated", workspace, changes=changes)
        db.session.commit()
        return _with_etag(load_workspace(workspace_id, principal))

    @blp.response(204)
    def delete(self, workspace_id: int):
        """Delete a workspace (its owner). Its projects stay, out of any workspace, seen
        by their own members only; relations between them go."""
        principal = current_principal()
        workspace = load_workspace(workspace_id, principal, "owner")
        check_if_match(_schema.dump(workspace))
        member_ids = list(
            db.session.scalars(
                select(WorkspaceMember.user_id).where(WorkspaceMember.workspace_id == workspace_id)
            )
        )
        detached = detach_workspace(workspace_id, principal)
        _record(
            "workspace.deleted",
            workspace,
            data={
                "project_ids": [project.id for project in detached.projects],
                "member_ids": member_ids,
                "relations_removed": detached.relations_removed,
            },
        )
        db.session.execute(
            delete(WorkspaceMember).where(WorkspaceMember.workspace_id == workspace_id)
        )
        db.session.execute(delete(Workspace).where(Workspace.id == workspace_id))
        db.session.commit()


@blp.route("/<int:workspace_id>/projects")
class WorkspaceProjects(MethodView):
    decorators = [require_auth(scope="projects")]

    @blp.arguments(WorkspaceProjectArgsSchema, location="query")
    @blp.response(200, ProjectPageSchema)
    def get(self, args, workspace_id: int):
        """The workspace's projects you can see (workspace admins: all of them)."""
        principal = current_principal()
        check_workspace(workspace_id, principal)
        query = project_query(principal, everything=principal.is_admin)
        query = filtered_projects(query.where(Project.workspace_id == workspace_id), args)
        return with_link(paginate(db.session, query, args["page"], args["per_page"]))
