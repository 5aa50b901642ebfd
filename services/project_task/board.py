"""Board order: each task's ``position`` within its column (its project and status).

Positions are integers, smaller first, unique within a column (a unique index says so),
``GAP`` apart when assigned at the end of a column. A task placed between two others
takes the midpoint of their positions; when they are adjacent numbers there is no room
left, and the column is renumbered ``GAP`` apart in the same transaction, in the order
it had, with the task in its new place. Nothing about the order a client sees changes,
and no event is published for the renumbered tasks.

Every writer of a position (a new task, a status change, a move, a copy) first holds the
project's row (:func:`services.project_task.locks.lock_project`) until it commits, so the
writers of one project's board queue behind each other and each reads the positions the
previous one committed: two moves can never pick the same place. On SQLite, the lock is
the database's single writer.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import BigInteger, case, cast, func, select, update
from sqlalchemy.orm.attributes import set_committed_value

from services.common.errors import abort
from services.project_task.extensions import db
from services.project_task.locks import lock_project
from services.project_task.models import Task

GAP = 1024
# Tasks per UPDATE of a renumbering (two bound values per task).
BATCH = 500


def last_position(project_id: int, status: str) -> int:
    """The largest position in the column (0 when it is empty); hold the project's lock."""
    with db.session.no_autoflush:
        last = db.session.scalar(
            select(func.max(Task.position)).where(
                Task.project_id == project_id, Task.status == status
            )
        )
    return last or 0


def place_at_end(task: Task) -> None:
    """Lock the task's project and give the task the place after the last of its column
    (a new task, or one whose status changed)."""
    lock_project(task.project_id)
    task.position = last_position(task.project_id, task.status) + GAP


@dataclass(frozen=True)
class Neighbour:
    id: int
    project_id: int
    status: str
    position: int


def _neighbours(task: Task, status: str, wanted: dict[str, int | None]) -> dict[str, Neighbour]:
    """The tasks named by ``before_id``/``after_id``; 422 unless each is another task in
    the target column of the task's project."""
    ids = {name: value for name, value in wanted.items() if value is not None}
    if not ids:
        return {}
    rows = db.session.execute(
        select(Task.id, Task.project_id, Task.status, Task.position).where(
            Task.id.in_(set(ids.values()))
        )
    )
    found = {row.id: Neighbour(*row) for row in rows}
    errors: dict[str, list[str]] = {}
    for name, task_id in ids.items():
        row = found.get(task_id)
        if task_id == task.id:
            errors[name] = ["A task cannot be placed next to itself."]
        elif row is None or row.project_id != task.project_id:
            errors[name] = ["No such task in this project."]
        elif row.status != status:
            errors[name] = [f"That task is not in the {status} column."]
    if (
        not errors
        and len(ids) == 2
        and found[ids["after_id"]].position > found[ids["before_id"]].position
    ):
        errors["before_id"] = ["after_id must come before before_id in the column."]
    if errors:
        abort(422, "The task cannot be placed there.", errors=errors)
    return {name: found[task_id] for name, task_id in ids.items()}


def _column(task: Task, status: str):
    """The other tasks of the target column."""
    return (Task.project_id == task.project_id, Task.status == status, Task.id != task.id)


def _bounds(task: Task, status: str, neighbours: dict[str, Neighbour]) -> tuple[int, int | None]:
    """Positions the task goes strictly between: right after ``after_id`` (then
    ``before_id`` only has to follow it), right before ``before_id``, or after the last
    task of the column (``None``: nothing above)."""
    column = _column(task, status)
    if "after_id" in neighbours:
        low = neighbours["after_id"].position
        high = db.session.scalar(
            select(func.min(Task.position)).where(*column, Task.position > low)
        )
        return low, high
    if "before_id" in neighbours:
        high = neighbours["before_id"].position
        low = db.session.scalar(
            select(func.max(Task.position)).where(*column, Task.position < high)
        )
        return low or 0, high
    return db.session.scalar(select(func.max(Task.position)).where(*column)) or 0, None


def _renumber(task: Task, status: str, low: int) -> int:
    """Give the column ``GAP``-apart positions in its order with the task right after
    position ``low``; the task's new position. Written so the unique index holds after
    every statement: the task parks at 0, the others pass through their negatives. The
    renumbered tasks keep their ``updated_at``: nothing a client sees of them changed."""
    column = _column(task, status)
    others = list(db.session.scalars(select(Task.id).where(*column).order_by(Task.position)))
    above = db.session.scalar(select(func.count()).where(*column, Task.position <= low)) or 0
    order = [*others[:above], task.id, *others[above:]]
    placed = {task_id: GAP * (index + 1) for index, task_id in enumerate(order)}
    untouched = update(Task).values(updated_at=Task.updated_at)
    untouched = untouched.execution_options(synchronize_session=False)
    db.session.execute(untouched.where(Task.id == task.id).values(position=0))
    set_committed_value(task, "position", 0)
    db.session.execute(untouched.where(*column).values(position=-Task.position))
    for start in range(0, len(others), BATCH):
        batch = {task_id: placed[task_id] for task_id in others[start : start + BATCH]}
        db.session.execute(
            untouched.where(Task.id.in_(list(batch))).values(
                position=cast(case(batch, value=Task.id), BigInteger)
            )
        )
    return placed[task.id]


def place(task: Task, status: str, before_id: int | None, after_id: int | None) -> int:
    """The task's new position in column ``status`` of its project, between
    ``after_id`` and ``before_id`` (both absent: at the end); the caller holds the
    project's lock and writes the returned position (and the status) on the task."""
    with db.session.no_autoflush:
        neighbours = _neighbours(task, status, {"before_id": before_id, "after_id": after_id})
        low, high = _bounds(task, status, neighbours)
        if high is None:
            return low + GAP
        if high - low >= 2:
            return (low + high) // 2
        return _renumber(task, status, low)
