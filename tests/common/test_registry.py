"""The registry (services/common/registry.py) names only jobs that exist: each consumer
and periodic job it lists is a task of that service's ``jobs`` module, and beat sends
each periodic job to the queue of the service that runs it."""

from __future__ import annotations

import importlib
import importlib.util

import pytest
from celery import Task

from services.common import beat
from services.common.registry import SERVICES, ServiceInfo, workers


def job_names(info: ServiceInfo) -> set[str]:
    module = importlib.import_module(f"services.{info.package}.jobs")
    return {job.name for job in vars(module).values() if isinstance(job, Task)}


@pytest.mark.parametrize("info", workers(), ids=lambda info: info.name)
def test_every_job_the_registry_names_is_a_task_of_its_service(info):
    names = job_names(info)

    if info.consumes:
        assert info.consumer_task in names
    for job in info.periodic:
        assert info.task(job.job) in names
    assert all(name.startswith(f"{info.task_prefix}.") for name in names)


def test_services_without_a_queue_have_no_jobs():
    for info in SERVICES.values():
        if info.queue is None:
            assert importlib.util.find_spec(f"services.{info.package}.jobs") is None


def test_beat_sends_each_periodic_job_to_its_service_queue():
    schedule = beat.celery.conf.beat_schedule
    expected = {
        job.name: (info.task(job.job), info.queue)
        for info in SERVICES.values()
        for job in info.periodic
    }

    assert {
        name: (entry["task"], entry["options"]["queue"]) for name, entry in schedule.items()
    } == (expected)
    assert len(expected) == 8
