"""Celery jobs of the attachment service (queue ``attachment``): removing the files of
deleted tasks and projects."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from services.attachment.cleanup import remove_attachments
from services.attachment.storage import storage
from services.common.consumers import InvalidEnvelope, apply_once, parse_envelope


@shared_task(
    name="attachment.consume_event",
    bind=True,
    autoretry_for=(Exception,),
    dont_autoretry_for=(InvalidEnvelope,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=8,
)
def consume_event(self, envelope: dict[str, Any]) -> bool:
    """Delete the files and rows of a deleted task or project, once per event_id."""
    keys: list[str] = []
    applied = apply_once(
        parse_envelope(envelope), lambda event: keys.extend(remove_attachments(event))
    )
    for key in keys:
        storage().delete(key)
    return applied
