"""scripts/bench's measured phases, in the order it runs them: the ceiling, P1 and P4
under wrk with P2 counted over P1 and P4; P1 again with personal access tokens instead
of access tokens, with its own P2; P7, task writes until their activity entries appear;
P8 and P9 (scripts/benchmarks/live.py); P5, P6 and P10 from scripts/bench_reports."""

from __future__ import annotations

import json
import secrets
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

import psycopg2
import requests

from scripts.benchmarks.boot import PING_PATH, Stack
from scripts.benchmarks.figures import counter_total, percentile
from scripts.benchmarks.results import RESULTS_DIR
from scripts.benchmarks.seeding import Seed
from scripts.benchmarks.wrk import Load
from scripts.toolkit import databases
from scripts.toolkit.processes import REPO, run_child
from scripts.toolkit.waiting import wait_for

P4_QUERY = "status=todo,in_progress&sort=-priority,due_date&per_page=50"


@dataclass
class Plan:
    seconds: int  # per measured load phase
    warmup: int
    users: int
    p7_tasks: int
    p7_rate: float
    p8_writes: int


def verify_count(stack_: Stack) -> float:
    """Verify requests the user service has served (its own /metrics)."""
    text = requests.get(f"{stack_.urls['user']}/metrics", timeout=10).text
    return counter_total(text, "http_requests_total", endpoint="internal.verify")


def measure_load(load: Load, stack_: Stack, seeded: Seed, plan: Plan) -> tuple[dict, dict]:
    """Warm-up, then the ceiling, P1 and P4 phases, P2 counted over P1 and P4; then P1
    with personal access tokens (``p1_pat``) and its P2 (``p2["pat"]``)."""
    task_path = "/api/tasks/{id}"
    list_path = f"/api/projects/{seeded.project_id}/tasks?{P4_QUERY}"
    authed = {"tokens": seeded.tokens_file}
    by_pat = {"tokens": seeded.personal_tokens_file}
    print("warming up ...", flush=True)
    load.run(PING_PATH, plan.warmup)
    load.run(task_path, plan.warmup, ids=seeded.task_ids, **authed)
    load.run(list_path, plan.warmup, **authed)
    phases = {}
    print(f"ceiling: {PING_PATH} for {plan.seconds} s ...", flush=True)
    phases["ceiling"] = load.run(PING_PATH, plan.seconds)
    verify_before = verify_count(stack_)
    print(f"P1: {task_path} for {plan.seconds} s ...", flush=True)
    phases["p1"] = load.run(task_path, plan.seconds, ids=seeded.task_ids, **authed)
    print(f"P4: {list_path} for {plan.seconds} s ...", flush=True)
    phases["p4"] = load.run(list_path, plan.seconds, **authed)
    calls = verify_count(stack_) - verify_before
    requests_ = phases["p1"]["requests"] + phases["p4"]["requests"]
    p2 = {
        "verify_calls": calls,
        "requests": requests_,
        "per_100": 100 * calls / requests_,
        "window_s": round(phases["p1"]["seconds"] + phases["p4"]["seconds"], 1),
        "tokens": len(seeded.users),
    }
    # Warmed up right before, as the access tokens were: the phase measures the steady
    # state (the first phases took longer than AUTH_CACHE_TTL since the first warm-up).
    print("warming up personal access tokens ...", flush=True)
    load.run(task_path, plan.warmup, ids=seeded.task_ids, **by_pat)
    verify_before = verify_count(stack_)
    print(f"P1 with personal access tokens: {task_path} for {plan.seconds} s ...", flush=True)
    phases["p1_pat"] = load.run(task_path, plan.seconds, ids=seeded.task_ids, **by_pat)
    calls = verify_count(stack_) - verify_before
    p2["pat"] = {
        "verify_calls": calls,
        "requests": phases["p1_pat"]["requests"],
        "per_100": 100 * calls / phases["p1_pat"]["requests"],
        "window_s": round(phases["p1_pat"]["seconds"], 1),
        "tokens": len(seeded.users),
    }
    return phases, p2


class ActivityWatcher(threading.Thread):
    """Polls the activity-log database and notes when each task.created entry appears."""

    def __init__(self, url: str, interval: float = 0.01) -> None:
        super().__init__(name="activity-watcher", daemon=True)
        self.url = url
        self.interval = interval
        self.seen: dict[int, float] = {}
        self.stopping = threading.Event()

    def run(self) -> None:
        connection = psycopg2.connect(self.url)
        connection.autocommit = True
        last = 0
        with connection.cursor() as cursor:
            while not self.stopping.is_set():
                cursor.execute(
                    "SELECT id, entity_id FROM activities WHERE id > %s "
                    "AND action = 'task.created' ORDER BY id",
                    (last,),
                )
                now = time.monotonic()
                for row_id, entity_id in cursor.fetchall():
                    last = row_id
                    self.seen.setdefault(entity_id, now)
                time.sleep(self.interval)
        connection.close()


def measure_event_lag(
    stack_: Stack, server: str, seeded: Seed, count: int, rate: float
) -> dict[str, Any]:
    """Create ``count`` tasks at ``rate`` per second through nginx; the delay from each
    201 to its activity entry appearing."""
    url = databases.database_url(server, stack_.databases["activity-log"])
    watcher = ActivityWatcher(url)
    watcher.start()
    session = requests.Session()
    user_id, token = seeded.users[1]
    url = f"{stack_.gateway}/api/projects/{seeded.project_id}/tasks"
    answered: dict[int, float] = {}
    started = time.monotonic()
    for index in range(count):
        time.sleep(max(0.0, started + index / rate - time.monotonic()))
        response = session.post(
            url,
            json={"title": f"P7 task {index}", "assignee_id": user_id, "labels": ["p7"]},
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": secrets.token_hex(8)},
            timeout=30,
        )
        done = time.monotonic()
        response.raise_for_status()
        answered[response.json()["id"]] = done
    wait_for(lambda: answered.keys() <= watcher.seen.keys(), timeout=30, interval=0.05)
    watcher.stopping.set()
    watcher.join(5)
    lags = [max(0.0, watcher.seen[i] - t) for i, t in answered.items() if i in watcher.seen]
    missing = len(answered) - len(lags)
    return {
        "tasks": count,
        "rate_per_s": rate,
        "missing": missing,
        "p50_s": round(percentile(lags, 0.50), 3) if lags else None,
        "p95_s": round(percentile(lags, 0.95), 3) if lags and not missing else None,
        "max_s": round(max(lags), 3) if lags else None,
        "poll_interval_s": watcher.interval,
    }


def run_bench_reports(quick: bool) -> dict[str, Any]:
    """P5, P6 and P10 from scripts/bench_reports (its newest JSON), or why they were not measured."""
    script = REPO / "scripts" / "bench_reports"
    if quick:
        return {"measured": False, "reason": "--quick skips P5/P6/P10 (run without --quick)"}
    if not script.exists():
        return {"measured": False, "reason": "scripts/bench_reports does not exist yet"}
    before = set(RESULTS_DIR.glob("reports-*.json"))
    print("\nP5/P6/P10: running scripts/bench_reports ...", flush=True)
    returncode = run_child([sys.executable, str(script)])
    written = sorted(set(RESULTS_DIR.glob("reports-*.json")) - before)
    if not written:
        return {
            "measured": False,
            "reason": f"scripts/bench_reports exited {returncode} without results",
        }
    return {
        "measured": True,
        "file": str(written[-1].relative_to(REPO)),
        **json.loads(written[-1].read_text()),
    }
