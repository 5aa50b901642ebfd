"""``scripts/bench --embedded``'s own parts: the one choice of gateway it shares with
``scripts/run``, its verdicts against that gateway's ceiling, and the tasks it seeds
into project-task's SQLite file, read back by the service itself."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from scripts import stack
from scripts.benchmarks.embedded import embedded_rows
from scripts.benchmarks.seeding import BIG_PROJECT_TASKS, OTHER_PROJECT_TASKS, sqlite_tasks
from scripts.toolkit.nginx import nginx_binary, pick_gateway
from services.common.registry import SERVICES
from services.common.testing import configure_for_tests
from services.project_task import create_app
from services.project_task.config import Config
from services.project_task.extensions import db
from services.project_task.models import Task
from services.project_task.tasks.schemas import TaskSchema


def test_the_gateway_is_nginx_when_installed_else_the_python_one():
    installed = nginx_binary() is not None
    assert pick_gateway() == pick_gateway("auto") == ("nginx" if installed else "python")
    assert pick_gateway("python") == "python"
    if installed:
        assert pick_gateway("nginx") == "nginx"
    else:
        with pytest.raises(SystemExit):
            pick_gateway("nginx")
    with pytest.raises(ValueError):
        pick_gateway("apache")


def test_run_and_bench_make_the_same_choice():
    for script in ("run", "bench"):
        source = (stack.REPO / "scripts" / script).read_text()
        assert 'choices=["auto", "nginx", "python"]' in source, script
    assert "pick_gateway(args.gateway)" in (stack.REPO / "scripts" / "run").read_text()
    embedded = stack.REPO / "scripts" / "benchmarks" / "embedded.py"
    assert "pick_gateway(args.gateway)" in embedded.read_text()


def test_p11_is_judged_against_the_gateways_own_ceiling():
    phases = {
        "ceiling": {"rps": 1000.0, "p50_ms": 10.0},
        "p1": {"rps": 550.0, "p50_ms": 20.0, "p99_ms": 60.0},
        "p4": {"rps": 120.0, "p50_ms": 90.0, "p99_ms": 200.0},
    }
    ceiling, p11, p4, p3 = embedded_rows(phases, "python", "/health")

    assert "via python" in ceiling.figure and "/health" in ceiling.figure
    assert (p11.id, p11.ok, p11.target) == ("P11", True, ">= 50%")
    assert "55% of ceiling" in p11.value
    assert (p4.id, p4.ok) == ("P4", None) and "12% of ceiling" in p4.value
    assert (p3.id, p3.ok) == ("P3", True)
    phases["p1"]["rps"] = 490.0
    assert embedded_rows(phases, "nginx", "/bench/ping")[1].ok is False


def test_bench_help_names_the_embedded_mode():
    result = subprocess.run(
        [sys.executable, str(stack.REPO / "scripts" / "bench"), "--help"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert "--embedded" in result.stdout and "--gateway" in result.stdout
    assert "P11" in result.stdout


def test_gateway_goes_with_embedded_only():
    result = subprocess.run(
        [sys.executable, str(stack.REPO / "scripts" / "bench"), "--gateway", "python"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2 and "--embedded" in result.stderr


def test_seeded_sqlite_tasks_are_read_by_the_service(tmp_path):
    service = SERVICES["project-task"]
    url = stack.service_database_url(None, service, tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    stack.migrate(service, {**env, "DATABASE_URL": url})

    ids = sqlite_tasks(tmp_path / "project_task.db")(7, [8, 9], 1, [1, 2, 3])

    assert len(ids) == BIG_PROJECT_TASKS and len(set(ids)) == len(ids)
    app = create_app(configure_for_tests(Config(), url, "redis://127.0.0.1:1/0"))
    with app.app_context():
        assert db.session.query(Task).filter_by(project_id=7).count() == BIG_PROJECT_TASKS
        assert db.session.query(Task).filter_by(project_id=9).count() == OTHER_PROJECT_TASKS
        task = db.session.get(Task, ids[-1])
        shown = TaskSchema().dump(task)
    assert shown["project_id"] == 7 and shown["status"] in (
        "todo",
        "in_progress",
        "in_review",
        "done",
        "cancelled",
    )
    assert shown["created_at"].endswith("+00:00") and shown["reporter_id"] == 1
