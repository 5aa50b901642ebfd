"""Projects and tasks for the reporting tests, made through the project-task API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

STATUSES = ("todo", "in_progress", "in_review", "done", "cancelled")
PRIORITIES = ("low", "medium", "high", "critical")


def today():
    return datetime.now(UTC).date()


def team_project(project_task, owner: Any, member: Any) -> dict:
    """A project of ``owner`` with ``member``, holding tasks of every status and priority,
    some overdue, some due this week, assigned to both and to nobody."""
    project = project_task.project(owner)
    project_task.add_member(project, member, "member", by=owner)
    day = today()
    past, soon, later = day - timedelta(days=9), day, day + timedelta(days=40)
    tasks = [
        {"status": "todo", "priority": "high", "assignee_id": member.id, "due_date": past},
        {"status": "todo", "priority": "low", "due_date": later},
        {"status": "todo", "priority": "medium", "assignee_id": owner.id, "due_date": soon},
        {
            "status": "in_progress",
            "priority": "critical",
            "assignee_id": member.id,
            "due_date": past,
        },
        {"status": "in_review", "priority": "medium", "assignee_id": owner.id},
        {"status": "done", "priority": "medium", "assignee_id": member.id, "due_date": past},
        {"status": "done", "priority": "high", "assignee_id": owner.id},
        {"status": "cancelled", "priority": "low", "due_date": past},
    ]
    for fields in tasks:
        if "due_date" in fields:
            fields["due_date"] = fields["due_date"].isoformat()
        project_task.task(
            project, owner, title=f"{fields['status']} {fields['priority']}", **fields
        )
    return project
