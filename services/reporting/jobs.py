"""Celery jobs of the reporting service (queue ``reporting``): generating a report, and
the beat's periodic runs (scheduled reports, re-enqueueing stale ones, expiry)."""

from __future__ import annotations

import logging

from celery import shared_task

from services.common.retry import backoff
from services.reporting import generation

log = logging.getLogger(__name__)

MAX_RETRIES = 4
# Waits between tries: about 10-20 s, 20-40 s, 40-80 s, then 80-160 s (at most 300 s).
RETRY_BASE_SECONDS = 20.0
RETRY_CAP_SECONDS = 300.0


@shared_task(name="reporting.generate_report", bind=True, max_retries=MAX_RETRIES)
def generate_report(self, report_id: int) -> str:
    """Generate one report; a source that is down is retried with backoff, then it fails."""
    final = self.request.called_directly or self.request.retries >= self.max_retries
    try:
        return generation.generate(report_id, final_attempt=final)
    except generation.RetryLater as exc:
        attempt = self.request.retries + 1
        countdown = backoff(attempt, base=RETRY_BASE_SECONDS, cap=RETRY_CAP_SECONDS)
        raise self.retry(exc=exc, countdown=countdown) from exc


@shared_task(name="reporting.run_schedules")
def run_schedules() -> list[int]:
    """Create and enqueue the reports of the schedules that are due."""
    return generation.run_schedules()


@shared_task(name="reporting.requeue_stale")
def requeue_stale() -> list[int]:
    """Enqueue again the reports left pending (broker down) or running on a dead worker."""
    return generation.requeue_stale()


@shared_task(name="reporting.expire_reports")
def expire_reports() -> int:
    """Mark reports past REPORT_TTL_DAYS expired and delete their files."""
    count = generation.expire_reports()
    log.info("expired %d reports", count)
    return count
