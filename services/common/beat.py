"""The platform's one Celery beat: the periodic jobs each service declares in
:mod:`services.common.registry`, each sent to the queue of the service that runs it.
Run exactly one: ``celery -A services.common.beat beat``.

Beat only names tasks; the workers of each service implement them.
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.schedules import crontab

from services.common.celery_app import celery_settings
from services.common.config import env
from services.common.registry import SERVICES, Periodic


def _schedule(job: Periodic) -> float | crontab:
    if job.cron is None:
        assert job.every is not None, f"{job.name}: every or cron"
        return job.every
    minute, hour, day_of_month, month_of_year, day_of_week = job.cron.split()
    return crontab(
        minute=minute,
        hour=hour,
        day_of_month=day_of_month,
        month_of_year=month_of_year,
        day_of_week=day_of_week,
    )


def beat_schedule() -> dict[str, dict[str, Any]]:
    """Celery's ``beat_schedule``, from every service's ``periodic`` jobs."""
    return {
        job.name: {
            "task": info.task(job.job),
            "schedule": _schedule(job),
            "options": {"queue": info.queue},
        }
        for info in SERVICES.values()
        for job in info.periodic
    }


celery = Celery("beat")
celery.config_from_object(celery_settings(env("REDIS_URL", "redis://127.0.0.1:6379/0")))
celery.conf.beat_schedule = beat_schedule()
