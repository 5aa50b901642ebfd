"""Where a project sits: in which workspace (if any), and whether that workspace's members
see it. Who may move it, and what a move changes.

- Putting a project into a workspace (on creation or by PATCH) needs the admin role in
  that workspace (404 if you are not in it, 403 if only a member), and, for an existing
  project, the project admin role.
- Taking it out of its workspace needs the admin role in that workspace, or being the
  project's owner: a project admin cannot withdraw it from the workspace's admins.
- ``visibility: workspace`` needs a workspace; a move (in, out or across) makes the
  project private unless the same request says otherwise, so a move never shows a
  project to a new audience unasked.
- Relations between the project's tasks and other projects' tasks are removed on a move
  (relations live within one project or one workspace).
- Deleting a workspace takes every project out of it (private, seen by its own members
  only) and removes the relations between them.

Every change is recorded as ``project.updated`` with ``changes.workspace_id`` and
``changes.visibility``, so the consumers that hold memberships narrow them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from services.common.auth import Principal
from services.common.contracts import workspace_role_at_least
from services.common.db import utcnow
from services.common.errors import abort
from services.common.events import record_event
from services.project_task.access import check_workspace, workspace_role
from services.project_task.extensions import db
from services.project_task.locks import lock_project, lock_projects_of, lock_workspaces
from services.project_task.models import Project
from services.project_task.projects.schemas import ProjectEventSchema
from services.project_task.relations.rules import remove_cross_project_relations

_event_schema = ProjectEventSchema()


def check_visibility(workspace_id: int | None, visibility: str) -> None:
    """422 for a workspace-visible project outside any workspace."""
    if visibility == "workspace" and workspace_id is None:
        abort(
            422,
            "Only a project in a workspace can be visible to the workspace.",
            errors={"visibility": ["Needs a workspace_id."]},
        )


def require_can_enter(workspace_id: int, principal: Principal) -> None:
    """404 unless the caller is in the workspace, 403 unless they administer it."""
    check_workspace(workspace_id, principal, "admin")


def require_can_leave(project: Project, principal: Principal) -> None:
    """403 unless the caller administers the project's workspace or owns the project."""
    if principal.is_admin or project.owner_id == principal.id:
        return
    _, role = workspace_role(project.workspace_id, principal.id)
    if not workspace_role_at_least(role, "admin"):
        abort(
            403,
            "Only the project's owner or an admin of its workspace can take it out of "
            "the workspace.",
            code="forbidden",
        )


def move(project: Project, data: dict[str, Any], principal: Principal) -> int:
    """Check and make the move ``data`` asks for (``workspace_id``, ``visibility``) on a
    project the caller administers; the number of relations it removed."""
    target = data.get("workspace_id", project.workspace_id)
    moving = target != project.workspace_id
    if moving:
        if project.workspace_id is not None:
            require_can_leave(project, principal)
        if target is not None:
            require_can_enter(target, principal)
        data.setdefault("visibility", "private")
    check_visibility(target, data.get("visibility", project.visibility))
    if not moving:
        return 0
    lock_project(project.id)
    lock_workspaces([project.workspace_id, target])
    return remove_cross_project_relations([project.id])


@dataclass(frozen=True)
class Detached:
    projects: list[Project]
    relations_removed: int


def detach_workspace(workspace_id: int, principal: Principal) -> Detached:
    """Take every project out of a workspace being deleted: private, and without the
    relations between them; a ``project.updated`` event for each."""
    ids = lock_projects_of(workspace_id)
    lock_workspaces([workspace_id])
    removed = remove_cross_project_relations(ids)
    projects = list(db.session.scalars(select(Project).where(Project.id.in_(ids))))
    before = {project.id: _event_schema.dump(project) for project in projects}
    db.session.execute(
        update(Project)
        .where(Project.id.in_(ids))
        .values(workspace_id=None, visibility="private", updated_at=utcnow()),
        execution_options={"synchronize_session": "fetch"},
    )
    for project in projects:
        old = before[project.id]
        changes = {"workspace_id": [workspace_id, None]}
        if old["visibility"] != "private":
            changes["visibility"] = [old["visibility"], "private"]
        record_event(
            "project.updated",
            actor=principal,
            entity=("project", project.id),
            project_id=project.id,
            data=_event_schema.dump(project),
            changes=changes,
        )
    return Detached(projects, removed)
