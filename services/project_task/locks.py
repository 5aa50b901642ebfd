"""Row locks that serialise the writes which must see each other: a new ``blocks``
relation and its cycle check, a project's move in or out of a workspace, the deletion of
a workspace.

Relations live within one project or one workspace, so a cycle of ``blocks`` can only
close inside one of them: a writer holds the project's row, then (when the project is
in one) its workspace's row, until it commits. Two transactions each adding one edge of
a cycle queue behind each other, and the second one's check sees the first one's edge.
Projects are always locked before workspaces, so writers never wait on each other in a
circle.

A lock is a no-op ``UPDATE`` of the row (every column set to itself) rather than
``SELECT ... FOR UPDATE``: on PostgreSQL it takes the row's ``FOR NO KEY UPDATE`` lock,
which does not hold back the ``FOR KEY SHARE`` locks of foreign-key checks (new tasks
and members of the project go on), and on SQLite, which has no row locks and runs plain
reads outside the transaction, a write is what takes the database's write lock.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, Result, update

from services.project_task.extensions import db
from services.project_task.models import Project, Workspace


def _hold_projects(condition: ColumnElement[bool], column: ColumnElement) -> Result:
    """Lock the projects matching ``condition``; ``column`` of each, as committed now."""
    statement = (
        update(Project)
        .where(condition)
        .values(workspace_id=Project.workspace_id, updated_at=Project.updated_at)
        .returning(column)
        .execution_options(synchronize_session=False)
    )
    return db.session.execute(statement)


def lock_project(project_id: int) -> tuple[bool, int | None]:
    """Hold the project's row until commit; whether it exists, and its workspace id as
    committed now (after waiting for any writer that held it)."""
    row = _hold_projects(Project.id == project_id, Project.workspace_id).first()
    return row is not None, None if row is None else row.workspace_id


def lock_projects_of(workspace_id: int) -> list[int]:
    """Hold the rows of every project of the workspace until commit; their ids."""
    return sorted(_hold_projects(Project.workspace_id == workspace_id, Project.id).scalars())


def lock_workspaces(workspace_ids: Iterable[int | None]) -> None:
    """Hold the rows of these workspaces until commit (in id order; None is skipped)."""
    for workspace_id in sorted({w for w in workspace_ids if w is not None}):
        db.session.execute(
            update(Workspace)
            .where(Workspace.id == workspace_id)
            .values(owner_id=Workspace.owner_id, updated_at=Workspace.updated_at)
            .execution_options(synchronize_session=False)
        )
