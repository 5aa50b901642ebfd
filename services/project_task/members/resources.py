"""Project members and their roles: list, add, change role (or hand ownership over),
remove (docs/services.md)."""

from __future__ import annotations

from flask import url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select, update

from services.common.auth import Principal, current_principal, require_auth
from services.common.concurrency import check_if_match, etag_of
from services.common.contracts import ROLES
from services.common.db import utcnow
from services.common.errors import abort
from services.common.events import record_event
from services.common.idempotency import idempotent
from services.common.pagination import PageArgsSchema, paginate, with_link
from services.project_task.access import check_project, load_project, require_role
from services.project_task.extensions import db
from services.project_task.members.schemas import (
    MemberCreateSchema,
    MemberPageSchema,
    MemberSchema,
    MemberUpdateSchema,
)
from services.project_task.models import Project, ProjectMember, Task, rank_of
from services.project_task.user_service import require_new_member
from services.project_task.watchers.rules import forget_watches_in

blp = Blueprint(
    "members",
    __name__,
    url_prefix="/api/projects/<int:project_id>/members",
    description="Project members",
)

_schema = MemberSchema()


def _with_etag(member: ProjectMember, status: int = 200, **headers: str):
    return member, status, {"ETag": etag_of(_schema.dump(member)), **headers}


def _load_member(project_id: int, user_id: int) -> ProjectMember:
    member = db.session.get(ProjectMember, (project_id, user_id))
    if member is None:
        abort(404, "No such member of this project.")
    return member


def _record_role_change(principal: Principal, member: ProjectMember, old_role: str) -> None:
    record_event(
        "project.member_updated",
        actor=principal,
        entity=("project", member.project_id),
        project_id=member.project_id,
        data={"user_id": member.user_id, "role": member.role},
        changes={"role": [old_role, member.role]},
    )


def _hand_over(principal: Principal, project: Project, new_owner: ProjectMember) -> None:
    """Make ``new_owner`` the owner; the previous owner stays on as an admin."""
    previous = _load_member(project.id, project.owner_id)
    old_role = new_owner.role
    previous.role, new_owner.role = "admin", "owner"
    record_event(
        "project.updated",
        actor=principal,
        entity=("project", project.id),
        project_id=project.id,
        changes={"owner_id": [project.owner_id, new_owner.user_id]},
    )
    project.owner_id = new_owner.user_id
    _record_role_change(principal, previous, "owner")
    _record_role_change(principal, new_owner, old_role)


@blp.route("")
class ProjectMembers(MethodView):
    decorators = [require_auth(scope="projects")]

    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, MemberPageSchema)
    def get(self, args, project_id: int):
        """The project's members, strongest role first."""
        check_project(project_id, current_principal())
        query = (
            select(ProjectMember)
            .where(ProjectMember.project_id == project_id)
            .order_by(rank_of(ProjectMember.role, ROLES).desc(), ProjectMember.user_id)
        )
        page = paginate(db.session, query, args["page"], args["per_page"])
        return with_link(page)

    @idempotent
    @blp.arguments(MemberCreateSchema)
    @blp.response(201, MemberSchema)
    def post(self, data, project_id: int):
        """Add a user to the project (project admins)."""
        principal = current_principal()
        check_project(project_id, principal, "admin")
        user_id = data["user_id"]
        require_new_member(
            db.session.get(ProjectMember, (project_id, user_id)) is not None, user_id
        )
        member = ProjectMember(project_id=project_id, user_id=user_id, role=data["role"])
        db.session.add(member)
        record_event(
            "project.member_added",
            actor=principal,
            entity=("project", project_id),
            project_id=project_id,
            data={"user_id": user_id, "role": member.role},
        )
        db.session.commit()
        location = url_for("members.ProjectMemberById", project_id=project_id, user_id=user_id)
        return _with_etag(member, 201, Location=location)


@blp.route("/<int:user_id>")
class ProjectMemberById(MethodView):
    decorators = [require_auth(scope="projects")]

    @blp.response(200, MemberSchema)
    def get(self, project_id: int, user_id: int):
        """One member's role."""
        check_project(project_id, current_principal())
        return _with_etag(_load_member(project_id, user_id))

    @blp.arguments(MemberUpdateSchema)
    @blp.response(200, MemberSchema)
    def patch(self, data, project_id: int, user_id: int):
        """Change a member's role (project admins); role owner hands ownership over (the owner)."""
        principal = current_principal()
        project = load_project(project_id, principal, "admin")
        member = _load_member(project_id, user_id)
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
            require_role(project.my_role, principal, "owner")
            _hand_over(principal, project, member)
        else:
            old_role, member.role = member.role, data["role"]
            _record_role_change(principal, member, old_role)
        db.session.commit()
        return _with_etag(member)

    @blp.response(204)
    def delete(self, project_id: int, user_id: int):
        """Remove a member (project admins; anyone may leave); their tasks become unassigned."""
        principal = current_principal()
        project = load_project(project_id, principal)
        member = _load_member(project_id, user_id)
        if user_id != principal.id:
            require_role(project.my_role, principal, "admin")
        if member.role == "owner":
            abort(409, "The owner cannot leave; hand ownership over first.", code="conflict")
        check_if_match(_schema.dump(member))
        assigned = select(Task.id).where(Task.project_id == project_id, Task.assignee_id == user_id)
        unassigned = list(db.session.scalars(assigned))
        if unassigned:
            db.session.execute(
                update(Task)
                .where(Task.id.in_(unassigned))
                .values(assignee_id=None, updated_at=utcnow())
            )
        record_event(
            "project.member_removed",
            actor=principal,
            entity=("project", project_id),
            project_id=project_id,
            data={"user_id": user_id, "role": member.role, "unassigned_task_ids": unassigned},
        )
        # Leaving a project ends every watch there.
        forget_watches_in(project_id, user_id)
        db.session.delete(member)
        db.session.commit()
