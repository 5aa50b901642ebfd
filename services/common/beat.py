"""The platform's one Celery beat: periodic jobs, each sent to the queue of the service
that runs it. Run exactly one: ``celery -A services.common.beat beat``.

Beat only names tasks; the workers of each service implement them.
"""

from __future__ import annotations

from celery import Celery
from celery.schedules import crontab

from services.common.celery_app import celery_settings
from services.common.config import env

celery = Celery("beat")
celery.config_from_object(celery_settings(env("REDIS_URL", "redis://127.0.0.1:6379/0")))
celery.conf.beat_schedule = {
    "activity-retention": {
        "task": "activity_log.apply_retention",
        "schedule": crontab(hour=3, minute=15),
        "options": {"queue": "activity"},
    },
    "notification-redispatch": {
        "task": "notification.redispatch_pending",
        "schedule": 300.0,
        "options": {"queue": "notification"},
    },
    "notification-due-soon": {
        "task": "notification.send_due_soon_reminders",
        "schedule": crontab(minute=0),
        "options": {"queue": "notification"},
    },
    "attachment-orphan-files": {
        "task": "attachment.sweep_orphan_files",
        "schedule": crontab(minute=45),
        "options": {"queue": "attachment"},
    },
    "reporting-expire": {
        "task": "reporting.expire_reports",
        "schedule": crontab(hour=4, minute=0),
        "options": {"queue": "reporting"},
    },
    "reporting-schedules": {
        "task": "reporting.run_schedules",
        "schedule": crontab(minute="*/5"),
        "options": {"queue": "reporting"},
    },
    "reporting-requeue-stale": {
        "task": "reporting.requeue_stale",
        "schedule": 60.0,
        "options": {"queue": "reporting"},
    },
}
