"""What the deployment promises, at test scale: the aggregate ``GET /health`` through
nginx (200 when all is up; 503 naming the failed component within 2 s when a service is
stopped or hangs). Replicas killed under load (R4, docs/testing.md) are tested in
``tests/resilience/test_replica_killed.py``."""

from __future__ import annotations

import os
import signal
import time

import requests

from scripts import stack


def aggregate(platform) -> tuple[requests.Response, float]:
    started = time.monotonic()
    response = requests.get(platform.url + "/health", timeout=10)
    return response, time.monotonic() - started


def test_aggregate_health_is_ok_when_everything_runs(platform):
    response, _ = aggregate(platform)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok"
    components = body["components"]
    for service in stack.built_services():
        assert components[service.name]["status"] == "ok"
        assert components[service.name]["checks"]["database"] == "ok"
    assert components["redis"] == {"status": "ok"}
    for worker in stack.built_workers():
        assert components[f"{worker.queue}-worker"]["workers"] >= 1


def test_aggregate_health_names_a_stopped_service_within_2s(platform):
    name = stack.built_services()[-1].name
    platform.stop(name)
    try:
        response, elapsed = aggregate(platform)
    finally:
        platform.start(name)
    assert elapsed < 2.0
    assert response.status_code == 503
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["failed"] == [name] and body["code"] == "service_unavailable"
    assert body["components"][name]["status"] == "unreachable"
    assert body["components"]["redis"]["status"] == "ok"
    assert aggregate(platform)[0].status_code == 200


def test_aggregate_health_answers_within_2s_when_a_service_hangs(platform):
    process = platform.processes["user"]
    os.killpg(process.popen.pid, signal.SIGSTOP)  # gunicorn's master and workers
    try:
        response, elapsed = aggregate(platform)
    finally:
        os.killpg(process.popen.pid, signal.SIGCONT)
    assert elapsed < 2.0
    assert response.status_code == 503
    body = response.json()
    assert "user" in body["failed"]
    assert body["components"]["user"]["status"] == "timeout"
    deadline = time.monotonic() + 10
    while aggregate(platform)[0].status_code != 200:
        assert time.monotonic() < deadline, "the platform did not recover after SIGCONT"
        time.sleep(0.2)
