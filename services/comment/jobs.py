"""Celery jobs of the comment service (queue ``comment``): removing the comments of
deleted tasks and projects, and once more after every cached access answer expired."""

from __future__ import annotations

from typing import Any

from services.comment.cleanup import remove_comments
from services.common.consumers import (
    apply_again,
    apply_once,
    consumer_task,
    parse_envelope,
    sweep_later,
)

SWEEP_TASK = "comment.sweep_deleted"


@consumer_task("comment.consume_event")
def consume_event(self, envelope: dict[str, Any]) -> bool:
    """Delete the comments of a deleted task or project, once per event_id."""
    event = parse_envelope(envelope)
    applied = apply_once(event, remove_comments)
    sweep_later(event, SWEEP_TASK)
    return applied


@consumer_task(SWEEP_TASK)
def sweep_deleted(self, envelope: dict[str, Any]) -> None:
    """Delete the comments written on a cached access answer after the consumer ran."""
    apply_again(parse_envelope(envelope), remove_comments)
