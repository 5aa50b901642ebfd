"""Celery jobs of the project-task service (queue ``project-task``): commenters and the
users a comment mentions watch its task, once per event."""

from __future__ import annotations

from typing import Any

from services.common.consumers import apply_once, consumer_task, parse_envelope
from services.project_task.watchers.rules import watch_from_comment


@consumer_task("project_task.consume_event")
def consume_event(self, envelope: dict[str, Any]) -> bool:
    """comment.created / comment.mentioned: the author and the mentioned watch the task."""
    return apply_once(parse_envelope(envelope), watch_from_comment)
