"""Celery jobs of the activity-log service (queue ``activity``): consuming every event
into the audit trail, and the nightly retention run that beat schedules."""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

from celery import shared_task

from services.activity_log.recording import record_activity
from services.activity_log.retention import purge_expired
from services.common.consumers import apply_once, consumer_task, parse_envelope

log = logging.getLogger(__name__)


@consumer_task("activity_log.consume_event")
def consume_event(self, envelope: dict[str, Any]) -> bool:
    """Store one event in the audit trail, once per event_id."""
    return apply_once(parse_envelope(envelope), record_activity)


@shared_task(name="activity_log.apply_retention")
def apply_retention() -> dict[str, Any]:
    """Summarise, then delete, the entries older than LOG_RETENTION_DAYS."""
    result = purge_expired()
    log.info(
        "retention deleted %d entries in %d batches (older than %s)",
        result.deleted,
        result.batches,
        result.cutoff.isoformat(),
    )
    return {**asdict(result), "cutoff": result.cutoff.isoformat()}
