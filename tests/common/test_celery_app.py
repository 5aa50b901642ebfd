"""The platform's Celery settings (docs/events.md)."""

from __future__ import annotations

from services.common.celery_app import celery_settings


def test_jobs_of_a_dead_worker_are_looked_for_every_restore_interval(monkeypatch):
    monkeypatch.setenv("CELERY_VISIBILITY_TIMEOUT", "15")
    settings = celery_settings("redis://127.0.0.1:6379/0")
    transport = settings["broker_transport_options"]
    assert transport["visibility_timeout"] == 15
    # kombu scans for them on every restore tick (10 s), not on every 10th (100 s).
    assert transport["unacked_restore_throttle"] == 1
    assert settings["task_acks_late"] and settings["task_reject_on_worker_lost"]
