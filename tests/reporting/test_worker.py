"""A real reporting worker (``celery -A services.reporting.worker worker -Q reporting``)
takes a requested report from Redis, generates it and stores its file."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import pytest

from services.common.config import REPO_ROOT
from tests.reporting.conftest import read_csv
from tests.reporting.factories import team_project


@pytest.fixture
def worker(app, user_service, project_task_service, activity_log_service, tmp_path):
    """The worker as a subprocess on the test database and Redis; stopped afterwards."""
    config = app.config
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "COV"))},
        "DATABASE_URL": config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": config["REDIS_URL"],
        "SERVICE_TOKEN": config["SERVICE_TOKEN"],
        "USER_SERVICE_URL": user_service.url,
        "PROJECT_TASK_SERVICE_URL": project_task_service.url,
        "ACTIVITY_LOG_SERVICE_URL": activity_log_service.url,
        "REPORT_STORAGE_DIR": config["REPORT_STORAGE_DIR"],
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = tmp_path / "worker.log"
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "services.reporting.worker",
        "worker",
        "-Q",
        "reporting",
        "--pool=solo",
        "-c",
        "1",
        "-n",
        f"reporting-test-{uuid.uuid4().hex[:8]}@%h",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, env=env, cwd=REPO_ROOT, stdout=output, stderr=subprocess.STDOUT
        )
    process.log = log
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def test_a_real_worker_generates_a_requested_report(
    client, worker, people, project_task_service, task_api
):
    project = team_project(project_task_service, people.owner, people.member)
    response = client.post(
        "/api/reports",
        json={"type": "project_summary", "params": {"project_id": project["id"]}, "format": "csv"},
        headers=people.member.headers,
    )
    assert response.status_code == 202

    deadline = time.monotonic() + 60
    report = response.json
    while report["status"] in ("pending", "running") and time.monotonic() < deadline:
        time.sleep(0.2)
        report = client.get(response.headers["Location"], headers=people.member.headers).json
    assert report["status"] == "completed", f"{report}\nworker log:\n{worker.log.read_text()}"

    download = client.get(report["download_url"], headers=people.member.headers)
    sections = read_csv(download.data)
    path = f"/api/projects/{project['id']}/tasks"
    assert dict(sections["Key figures"][1:])["Overdue tasks"] == str(
        task_api.total(path, people.member, overdue="true")
    )
    assert worker.poll() is None
