"""One run of scripts/bench: boot, seed, the measured phases, the table and the JSON,
and whatever happens, every process stopped and the bench databases dropped."""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import signal
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from scripts.benchmarks.boot import PING_PATH, Stack, boot, process_families
from scripts.benchmarks.figures import render_cpu, render_table
from scripts.benchmarks.live import measure_delivery, measure_idle_streams, raise_open_files_limit
from scripts.benchmarks.phases import (
    P4_QUERY,
    Plan,
    measure_event_lag,
    measure_load,
    run_bench_reports,
)
from scripts.benchmarks.results import (
    build_rows,
    live_rows,
    rows_record,
    run_record,
    write_results,
)
from scripts.benchmarks.seeding import (
    BIG_PROJECT_TASKS,
    OTHER_PROJECT_TASKS,
    OTHER_PROJECTS,
    Seed,
    postgres_tasks,
    seed,
)
from scripts.benchmarks.wrk import CONNECTIONS, WRK_SCRIPT, Load, ensure_wrk
from scripts.toolkit import databases
from scripts.toolkit.processes import REPO, Supervisor


def make_plan(args: argparse.Namespace) -> Plan:
    if args.quick:
        return Plan(seconds=15, warmup=4, users=args.users, p7_tasks=60, p7_rate=10.0, p8_writes=60)
    return Plan(seconds=40, warmup=8, users=args.users, p7_tasks=300, p7_rate=10.0, p8_writes=200)


def hold(stack_: Stack, seeded: Seed, script: Path, supervisor: Supervisor) -> None:
    """Keep the seeded stack up for profiling until Ctrl-C, saying how to load it."""
    low, high = seeded.task_ids
    wrk = f"wrk -t2 -c{CONNECTIONS} -d15s --latency -s {script} {stack_.gateway} --"
    print(
        "holding the stack (Ctrl-C stops it). Processes and logs: "
        f"{stack_.workdir}\n"
        f"  ceiling: {wrk} {PING_PATH}\n"
        f"  P1:      {wrk} '/api/tasks/{{id}}' {seeded.tokens_file} {low} {high}\n"
        f"  P4:      {wrk} '/api/projects/{seeded.project_id}/tasks?{P4_QUERY}' "
        f"{seeded.tokens_file}\n"
        f"  P1 PAT:  {wrk} '/api/tasks/{{id}}' {seeded.personal_tokens_file} {low} {high}\n"
        "  reload changed code: kill -HUP <gunicorn master pid>",
        flush=True,
    )
    with contextlib.suppress(KeyboardInterrupt):
        while not supervisor.dead():
            time.sleep(1)
    if supervisor.dead():
        print(f"processes died: {supervisor.dead()}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    """The whole benchmark as ``args`` (scripts/bench's options) ask; its exit status."""
    # SIGTERM cleans up like Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    plan = make_plan(args)
    wrk = ensure_wrk()
    open_files = raise_open_files_limit()
    server = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    run_id = secrets.token_hex(3)
    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    supervisor = Supervisor(workdir / "logs")
    stack_ = Stack(workdir)
    started_at = datetime.now(UTC)
    load_at_start = os.getloadavg()
    print(f"scripts/bench{' --quick' if args.quick else ''}: work directory {workdir}")
    try:
        print("booting the stack ...", flush=True)
        stack_ = boot(workdir, supervisor, server, run_id, args.stream_workers)
        print(
            f"seeding {plan.users} users, {BIG_PROJECT_TASKS:,} + "
            f"{OTHER_PROJECTS * OTHER_PROJECT_TASKS:,} tasks ...",
            flush=True,
        )
        seed_started = time.monotonic()
        url = databases.database_url(server, stack_.databases["project-task"])
        seeded = seed(stack_, plan.users, postgres_tasks(url))
        seeded.seconds = round(time.monotonic() - seed_started, 1)
        script = workdir / "bench.lua"
        script.write_text(WRK_SCRIPT)
        if args.hold:
            hold(stack_, seeded, script, supervisor)
            return 0
        families = process_families(supervisor)
        load = Load(wrk, script, stack_.gateway, families, f"bench_{run_id}_")
        phases, p2 = measure_load(load, stack_, seeded, plan)
        print(f"P7: {plan.p7_tasks} task writes at {plan.p7_rate:g}/s ...", flush=True)
        p7 = measure_event_lag(stack_, server, seeded, plan.p7_tasks, plan.p7_rate)
        print(f"P8: {plan.p8_writes} task writes at {plan.p7_rate:g}/s, SSE and WebSocket ...")
        p8 = measure_delivery(stack_, seeded, plan.p8_writes, plan.p7_rate)
        p9 = measure_idle_streams(stack_, seeded, load, plan.seconds, families)
        if supervisor.dead():
            raise RuntimeError(f"processes died during the run: {supervisor.dead()}")
    finally:
        supervisor.stop_all()
        if not args.keep:
            for name in stack_.databases.values():
                try:
                    databases.drop_database(server, name)
                except Exception as exc:  # best effort: say so and go on
                    print(f"could not drop {name}: {exc}", file=sys.stderr)
        else:
            print(f"kept databases: {', '.join(stack_.databases.values())}")
        if args.hold:
            shutil.rmtree(workdir, ignore_errors=True)
    reports = (
        {"measured": False, "reason": "--no-reports"}
        if args.no_reports
        else run_bench_reports(args.quick)
    )
    rows = build_rows(phases, p2, p7, reports) + live_rows(p8, p9)
    print()
    print(render_table(rows))
    print()
    print(render_cpu(phases))
    results = {
        **run_record("platform", args.quick, started_at, load_at_start),
        "settings": {
            "connections": CONNECTIONS,
            "phase_seconds": plan.seconds,
            "users": plan.users,
            "gunicorn": "services/common/gunicorn_conf.py defaults (gthread, 2 workers x 8 threads)",
            "services_down": stack_.down,
            "stream_workers": args.stream_workers,
            "open_files_limit": open_files,
        },
        "seed": {
            "project_id": seeded.project_id,
            "project_tasks": BIG_PROJECT_TASKS,
            "other_tasks": OTHER_PROJECTS * OTHER_PROJECT_TASKS,
            "seconds": seeded.seconds,
        },
        "phases": phases,
        "p2": p2,
        "p7": p7,
        "p8": p8,
        "p9": p9,
        "reports": {k: v for k, v in reports.items() if k in ("measured", "reason", "file")},
        **rows_record(rows),
    }
    path = write_results(results)
    print(f"\nwrote {path.relative_to(REPO)}")
    shutil.rmtree(workdir, ignore_errors=True)
    return 0 if results["pass"] else 1
