"""Who may see and do what in a project (SPEC §4 roles), decided server-side.

Roles rank ``viewer < member < admin < owner``. A project or task the caller is not a
member of is a 404, so its existence does not leak; one they can see but not change is a
403. Global admins see and manage everything, with the powers of an owner.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, func, select
from sqlalchemy.orm import joinedload, with_expression

from services.common.auth import Principal
from services.common.contracts import role_at_least
from services.common.errors import abort
from services.project_task.extensions import db
from services.project_task.models import Project, ProjectMember, Task, TimeEntry

_ACTIONS = {
    "viewer": "read this project",
    "member": "create or edit tasks",
    "admin": "manage this project and its members",
    "owner": "delete this project or hand it over",
}


def allows(role: str | None, principal: Principal, needed: str) -> bool:
    """Whether a caller holding ``role`` in a project may act as ``needed``."""
    if principal.is_admin:
        return True
    return role_at_least(role, needed)


def require_role(role: str | None, principal: Principal, needed: str) -> None:
    """403 unless the caller may act as ``needed`` (they can already see the project)."""
    if not allows(role, principal, needed):
        abort(403, f"You need the {needed} role to {_ACTIONS[needed]}.", code="forbidden")


def _membership(user_id: Any, project_column: ColumnElement) -> ColumnElement[bool]:
    """``user_id``'s membership row of the project: a value, or a bound parameter."""
    return and_(ProjectMember.project_id == project_column, ProjectMember.user_id == user_id)


def _with_role(query: Select, project_column: ColumnElement) -> Select:
    """``query`` with the role of the user bound as ``user_id`` (None: no member). The two
    hottest access checks are built with it once, so SQLAlchemy's cache key is too."""
    return query.outerjoin(ProjectMember, _membership(bindparam("user_id"), project_column))


def project_query(principal: Principal, *, everything: bool = False) -> Select:
    """Projects with ``my_role`` and ``task_count`` filled in SQL: the caller's projects,
    or every project when ``everything`` (global admins)."""
    task_count = (
        select(func.count(Task.id))
        .where(Task.project_id == Project.id)
        .correlate(Project)
        .scalar_subquery()
    )
    query = select(Project).options(
        with_expression(Project.my_role, ProjectMember.role),
        with_expression(Project.task_count, task_count),
    )
    if everything:
        return query.outerjoin(ProjectMember, _membership(principal.id, Project.id))
    return query.join(ProjectMember, _membership(principal.id, Project.id))


def load_project(project_id: int, principal: Principal, needed: str = "viewer") -> Project:
    """The project if the caller can see it (else 404) and may act as ``needed`` (else 403)."""
    query = (
        project_query(principal, everything=principal.is_admin)
        .where(Project.id == project_id)
        .execution_options(populate_existing=True)
    )
    project = db.session.scalar(query)
    if project is None:
        abort(404, "No such project.")
    require_role(project.my_role, principal, needed)
    return project


def _require_access(row: Any, principal: Principal, needed: str, thing: str) -> None:
    """404 unless ``row`` (with the caller's ``role``) exists and they can see it; 403
    unless they may act as ``needed``."""
    if row is None or (row.role is None and not principal.is_admin):
        abort(404, f"No such {thing}.")
    require_role(row.role, principal, needed)


def across_projects(
    query: Select,
    project_column: ColumnElement,
    args: dict[str, Any],
    principal: Principal,
    things: str,
) -> Select:
    """A list of ``things`` across projects: ``query`` within the caller's projects, or
    every project with ``all`` (global admins; 403 for others), narrowed to
    ``project_id`` if given."""
    if args["all"] and not principal.is_admin:
        abort(403, f"Only admins can list every project's {things}.", code="forbidden")
    if not args["all"]:
        query = query.join(ProjectMember, _membership(principal.id, project_column))
    if "project_id" in args:
        query = query.where(project_column == args["project_id"])
    return query


_PROJECT_ROLE = _with_role(select(Project.id, ProjectMember.role), Project.id).where(
    Project.id == bindparam("project_id")
)


def check_project(project_id: int, principal: Principal, needed: str = "viewer") -> str | None:
    """What :func:`load_project` checks, without loading the project: 404 unless the
    caller can see it, 403 unless they may act as ``needed``; the caller's role."""
    params = {"project_id": project_id, "user_id": principal.id}
    row = db.session.execute(_PROJECT_ROLE, params).first()
    _require_access(row, principal, needed, "project")
    return row.role


# One round trip: the labels come joined (a second SELECT cost more than the row).
_TASK_WITH_ROLE = (
    _with_role(select(Task, ProjectMember.role), Task.project_id)
    .where(Task.id == bindparam("task_id"))
    .options(joinedload(Task.label_rows))
)


def load_task(
    task_id: int, principal: Principal, needed: str = "viewer"
) -> tuple[Task, str | None]:
    """The task and the caller's role in its project; 404 if they cannot see it."""
    params = {"task_id": task_id, "user_id": principal.id}
    row = db.session.execute(_TASK_WITH_ROLE, params).unique().first()
    _require_access(row, principal, needed, "task")
    return row.Task, row.role


def role_of(project_id: int, user_id: int) -> str | None:
    """``user_id``'s role in the project, or None when not a member."""
    return db.session.scalar(
        select(ProjectMember.role).where(
            ProjectMember.project_id == project_id, ProjectMember.user_id == user_id
        )
    )


_ENTRY_WITH_ROLE = _with_role(select(TimeEntry, ProjectMember.role), TimeEntry.project_id).where(
    TimeEntry.id == bindparam("entry_id")
)


def load_time_entry(
    entry_id: int, principal: Principal, needed: str = "viewer"
) -> tuple[TimeEntry, str | None]:
    """The time entry and the caller's role in its project; 404 if they cannot see it."""
    params = {"entry_id": entry_id, "user_id": principal.id}
    row = db.session.execute(_ENTRY_WITH_ROLE, params).first()
    _require_access(row, principal, needed, "time entry")
    return row.TimeEntry, row.role
