"""Workspace members and their roles: list, add, change role (or hand ownership over),
remove. What a member sees of the workspace's projects follows at once (the access rule
is evaluated on every request, see ``access.py``); the events say which projects a
change took out of someone's sight."""

from __future__ import annotations

from flask import url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import ColumnElement, false, select, true

from services.common.auth import Principal, current_principal, require_auth
from services.common.concurrency import check_if_match, etag_of
from services.common.contracts import WORKSPACE_ROLES
from services.common.errors import abort
from services.common.events import record_event
from services.common.idempotency import idempotent
from services.common.pagination import PageArgsSchema, paginate, with_link
from services.project_task.access import (
    WORKSPACE_ADMINS,
    check_workspace,
    load_workspace,
    require_workspace_role,
)
from services.project_task.extensions import db
from services.project_task.models import Project, ProjectMember, Workspace, WorkspaceMember, rank_of
from services.project_task.user_service import require_new_member
from services.project_task.workspaces.schemas import (
    WorkspaceMemberCreateSchema,
    WorkspaceMemberPageSchema,
    WorkspaceMemberSchema,
    WorkspaceMemberUpdateSchema,
)

blp = Blueprint(
    "workspace_members",
    __name__,
    url_prefix="/api/workspaces/<int:workspace_id>/members",
    description="Workspace members",
)

_schema = WorkspaceMemberSchema()


def _with_etag(member: WorkspaceMember, status: int = 200, **headers: str):
    return member, status, {"ETag": etag_of(_schema.dump(member)), **headers}


def _load_member(workspace_id: int, user_id: int) -> WorkspaceMember:
    member = db.session.get(WorkspaceMember, (workspace_id, user_id))
    if member is None:
        abort(404, "No such member of this workspace.")
    return member


def _sees(role: str | None) -> ColumnElement[bool]:
    """Condition on a project of the workspace: a member with ``role`` sees it."""
    if role is None:
        return false()
    if role in WORKSPACE_ADMINS:
        return true()
    return Project.visibility == "workspace"


def lost_projects(workspace_id: int, user_id: int, old: str | None, new: str | None) -> list[int]:
    """Projects of the workspace ``user_id`` saw as a member with role ``old`` and no
    longer sees with ``new`` (None: no member), leaving out those they are a member of."""
    own = select(ProjectMember.project_id).where(ProjectMember.user_id == user_id)
    return list(
        db.session.scalars(
            select(Project.id)
            .where(
                Project.workspace_id == workspace_id,
                _sees(old),
                ~_sees(new),
                Project.id.not_in(own),
            )
            .order_by(Project.id)
        )
    )


def _record(event_type: str, principal: Principal, member: WorkspaceMember, **kwargs) -> None:
    record_event(
        event_type,
        actor=principal,
        entity=("workspace", member.workspace_id),
        data={
            "workspace_id": member.workspace_id,
            "user_id": member.user_id,
            "role": member.role,
            **kwargs.pop("data", {}),
        },
        **kwargs,
    )


def _change_role(principal: Principal, member: WorkspaceMember, role: str) -> None:
    old = member.role
    lost = lost_projects(member.workspace_id, member.user_id, old, role)
    member.role = role
    _record(
        "workspace.member_updated",
        principal,
        member,
        data={"project_ids_lost": lost},
        changes={"role": [old, role]},
    )


def _hand_over(principal: Principal, workspace: Workspace, new_owner: WorkspaceMember) -> None:
    """Make ``new_owner`` the owner; the previous owner stays on as an admin."""
    previous = _load_member(workspace.id, workspace.owner_id)
    record_event(
        "workspace.updated",
        actor=principal,
        entity=("workspace", workspace.id),
        changes={"owner_id": [workspace.owner_id, new_owner.user_id]},
    )
    workspace.owner_id = new_owner.user_id
    _change_role(principal, previous, "admin")
    _change_role(principal, new_owner, "owner")


@blp.route("")
class WorkspaceMembers(MethodView):
    decorators = [require_auth(scope="projects")]

    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, WorkspaceMemberPageSchema)
    def get(self, args, workspace_id: int):
        """The workspace's members, strongest role first."""
        check_workspace(workspace_id, current_principal())
        query = (
            select(WorkspaceMember)
            .where(WorkspaceMember.workspace_id == workspace_id)
            .order_by(
                rank_of(WorkspaceMember.role, WORKSPACE_ROLES).desc(), WorkspaceMember.user_id
            )
        )
        return with_link(paginate(db.session, query, args["page"], args["per_page"]))

    @idempotent
    @blp.arguments(WorkspaceMemberCreateSchema)
    @blp.response(201, WorkspaceMemberSchema)
    @blp.alt_response(409, response="CONFLICT")
    def post(self, data, workspace_id: int):
        """Add a user to the workspace (workspace admins)."""
        principal = current_principal()
        check_workspace(workspace_id, principal, "admin")
        user_id = data["user_id"]
        require_new_member(
            db.session.get(WorkspaceMember, (workspace_id, user_id)) is not None, user_id
        )
        member = WorkspaceMember(workspace_id=workspace_id, user_id=user_id, role=data["role"])
        db.session.add(member)
        _record("workspace.member_added", principal, member)
        db.session.commit()
        location = url_for(
            "workspace_members.WorkspaceMemberById", workspace_id=workspace_id, user_id=user_id
        )
        return _with_etag(member, 201, Location=location)


@blp.route("/<int:user_id>")
class WorkspaceMemberById(MethodView):
    decorators = [require_auth(scope="projects")]

    @blp.response(200, WorkspaceMemberSchema)
    def get(self, workspace_id: int, user_id: int):
        """One member's role."""
        check_workspace(workspace_id, current_principal())
        return _with_etag(_load_member(workspace_id, user_id))

    @blp.arguments(WorkspaceMemberUpdateSchema)
    @blp.response(200, WorkspaceMemberSchema)
    @blp.alt_response(409, response="CONFLICT")
    def patch(self, data, workspace_id: int, user_id: int):
        """Change a member's role (workspace admins); role owner hands ownership over
        (the owner)."""
        principal = current_principal()
        workspace = load_workspace(workspace_id, principal, "admin")
        member = _load_member(workspace_id, user_id)
        check_if_match(_schema.dump(member))
        if data["role"] == member.role:
            return _with_etag(member)
        if member.role == "owner":
            abort(
                409,
                "The owner's role changes only by handing ownership to another member.",
                code="conflict",
            )
        if data["role"] == "owner":
            require_workspace_role(workspace.my_role, principal, "owner")
            _hand_over(principal, workspace, member)
        else:
            _change_role(principal, member, data["role"])
        db.session.commit()
        return _with_etag(member)

    @blp.response(204)
    @blp.alt_response(409, response="CONFLICT")
    def delete(self, workspace_id: int, user_id: int):
        """Remove a member (workspace admins; anyone may leave). They stop seeing the
        workspace's projects they are no member of at once."""
        principal = current_principal()
        role = check_workspace(workspace_id, principal)
        member = _load_member(workspace_id, user_id)
        if user_id != principal.id:
            require_workspace_role(role, principal, "admin")
        if member.role == "owner":
            abort(409, "The owner cannot leave; hand ownership over first.", code="conflict")
        check_if_match(_schema.dump(member))
        lost = lost_projects(workspace_id, user_id, member.role, None)
        _record("workspace.member_removed", principal, member, data={"project_ids_lost": lost})
        db.session.delete(member)
        db.session.commit()
