"""Celery jobs of the comment service (queue ``comment``): removing the comments of
deleted tasks and projects."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from services.comment.cleanup import remove_comments
from services.common.consumers import InvalidEnvelope, apply_once, parse_envelope


@shared_task(
    name="comment.consume_event",
    bind=True,
    autoretry_for=(Exception,),
    dont_autoretry_for=(InvalidEnvelope,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=8,
)
def consume_event(self, envelope: dict[str, Any]) -> bool:
    """Delete the comments of a deleted task or project, once per event_id."""
    return apply_once(parse_envelope(envelope), remove_comments)
