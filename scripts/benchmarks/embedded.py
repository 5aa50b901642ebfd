"""``scripts/bench --embedded``: the platform as ``scripts/run`` starts it with no settings
(a SQLite file per service, the embedded Redis, the gateway :func:`pick_gateway` picks:
nginx when installed, else the Python fallback gateway), seeded like the main benchmark,
and GET /api/tasks/{id} (P11) and the filtered page of 50 tasks measured against that
gateway's own no-I/O ceiling.

The ceiling is project-task's no-I/O ``/health`` through the gateway under test: for
nginx the ping location the main benchmark adds to its rendered copy; for the Python
gateway its own ``GET /health`` route, pointed at project-task instead of the aggregate
health (``GATEWAY_UPSTREAMS``), so the request takes the gateway's ordinary forwarding
path. Everything runs on free loopback ports under a temporary directory, so it never
meets a ``scripts/run`` of the same machine.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scripts import stack
from scripts.benchmarks.boot import (
    ESSENTIAL,
    PING_LOCATION,
    PING_PATH,
    Stack,
    base_environment,
    process_families,
    spawn_processes,
)
from scripts.benchmarks.figures import Row, render_cpu, render_table
from scripts.benchmarks.phases import P4_QUERY, Plan
from scripts.benchmarks.results import (
    rows_record,
    run_record,
    share_row,
    tail_row,
    write_results,
)
from scripts.benchmarks.seeding import Seed, seed, sqlite_tasks
from scripts.benchmarks.wrk import CONNECTIONS, WRK_SCRIPT, Load, ensure_wrk
from scripts.toolkit import nginx
from scripts.toolkit.processes import REPO, Supervisor, free_port
from services.common.registry import STREAM

P11_TARGET = 0.50  # share of the same gateway's ceiling
# CPU of PostgreSQL backends is counted by database name; there are none here.
NO_DATABASE_PREFIX = "\0embedded"


def boot_embedded(workdir: Path, supervisor: Supervisor, gateway: str) -> tuple[Stack, str]:
    """Every built service on its SQLite file, the stream, workers and beat, the embedded
    Redis, the SMTP sink and ``gateway``; the stack and the ceiling's path."""
    result = Stack(workdir)
    redis_port, smtp_port, gateway_port = free_port(), free_port(), free_port()
    env = base_environment(workdir, redis_port, smtp_port)
    supervisor.spawn("redis", stack.embedded_redis_command(redis_port, workdir / "redis"), env)
    supervisor.spawn("smtp", stack.smtp_sink_command(smtp_port), env)
    services = stack.built_services()
    ports = {s.name: free_port() for s in services}
    for service in services:
        env[service.url_setting] = f"http://127.0.0.1:{ports[service.name]}"
        result.urls[service.name] = env[service.url_setting]
    envs = {}
    for service in services:
        envs[service.name] = {
            **env,
            "DATABASE_URL": stack.service_database_url(None, service, workdir),
        }
        print(f"  migrating {service.name} (SQLite) ...", flush=True)
        stack.migrate(service, envs[service.name])
    stream = None
    if stack.stream_built(services):
        ports[STREAM.name] = free_port()
        stream = (stack.stream_command(ports[STREAM.name]), {})
    spawn_processes(supervisor, workdir, services, env, envs, ports, result, stream)

    addresses = nginx.loopback_addresses(
        {
            **{s.package: ports[s.name] for s in services},
            "notification_stream": ports.get(STREAM.name, 0) or free_port(),
        }
    )
    if gateway == "nginx":
        conf = nginx.render_nginx(
            workdir / "nginx", f"127.0.0.1:{gateway_port}", addresses, extra_locations=PING_LOCATION
        )
        process = supervisor.spawn("nginx", nginx.nginx_command(conf), env, gateway_port)
        ceiling = PING_PATH
    else:
        # GET /health of the Python gateway forwarded to project-task's no-I/O /health.
        addresses["health"] = addresses["project_task"]
        command, extra = stack.python_gateway_command(gateway_port, addresses)
        process = supervisor.spawn("gateway", command, {**env, **extra}, gateway_port)
        ceiling = "/health"
    result.gateway = f"http://127.0.0.1:{gateway_port}"
    for service in services + ([STREAM] if STREAM.name in ports else []):
        try:
            supervisor.processes[service.name].wait_ready("/health/ready", timeout=120)
        except (RuntimeError, TimeoutError):
            if service.name in ESSENTIAL:
                raise
            print(f"  warning: {service.name} is not ready (not needed here)", flush=True)
            result.down.append(service.name)
    process.wait_ready(ceiling, timeout=30)
    return result, ceiling


def measure(load: Load, ceiling: str, seeded: Seed, plan: Plan) -> dict[str, dict]:
    """Warm-up, then the ceiling, P1 (P11) and P4 phases through the gateway."""
    task_path = "/api/tasks/{id}"
    list_path = f"/api/projects/{seeded.project_id}/tasks?{P4_QUERY}"
    authed = {"tokens": seeded.tokens_file}
    print("warming up ...", flush=True)
    load.run(ceiling, plan.warmup)
    load.run(task_path, plan.warmup, ids=seeded.task_ids, **authed)
    load.run(list_path, plan.warmup, **authed)
    phases = {}
    print(f"ceiling: {ceiling} for {plan.seconds} s ...", flush=True)
    phases["ceiling"] = load.run(ceiling, plan.seconds)
    print(f"P11: {task_path} for {plan.seconds} s ...", flush=True)
    phases["p1"] = load.run(task_path, plan.seconds, ids=seeded.task_ids, **authed)
    print(f"P4 (embedded): {list_path} for {plan.seconds} s ...", flush=True)
    phases["p4"] = load.run(list_path, plan.seconds, **authed)
    return phases


def embedded_rows(phases: dict[str, dict], gateway: str, ceiling_path: str) -> list[Row]:
    """The ceiling, P11 (P1's endpoint) and P4's endpoint as shares of that ceiling."""
    ceiling, p1, p4 = phases["ceiling"], phases["p1"], phases["p4"]
    p4_row = share_row(
        "P4", f"page of 50 of 10,000 tasks via {gateway} (SQLite)", p4, ceiling, P11_TARGET
    )
    p4_row.target, p4_row.ok = "-", None  # P11 covers GET /api/tasks/{id} only
    return [
        Row(
            "ceil",
            f"GET {ceiling_path} via {gateway} (project-task's no-I/O /health)",
            f"{ceiling['rps']:,.0f} req/s, p50 {ceiling['p50_ms']:.1f} ms",
            "-",
            None,
        ),
        share_row("P11", f"GET /api/tasks/{{id}} via {gateway} (SQLite)", p1, ceiling, P11_TARGET),
        p4_row,
        tail_row("P3", "tail at 32 connections, P11's endpoint", p1),
    ]


def hold(stack_: Stack, ceiling: str, seeded: Seed, script: Path, supervisor: Supervisor) -> None:
    """Keep the seeded embedded stack up for profiling until Ctrl-C."""
    low, high = seeded.task_ids
    wrk = f"wrk -t2 -c{CONNECTIONS} -d15s --latency -s {script} {stack_.gateway} --"
    print(
        f"holding the embedded stack (Ctrl-C stops it). Processes and logs: {stack_.workdir}\n"
        f"  ceiling: {wrk} {ceiling}\n"
        f"  P11:     {wrk} '/api/tasks/{{id}}' {seeded.tokens_file} {low} {high}\n"
        f"  P4:      {wrk} '/api/projects/{seeded.project_id}/tasks?{P4_QUERY}' "
        f"{seeded.tokens_file}\n"
        "  reload changed code: kill -HUP <gunicorn master pid>",
        flush=True,
    )
    with contextlib.suppress(KeyboardInterrupt):
        while not supervisor.dead():
            time.sleep(1)
    if supervisor.dead():
        print(f"processes died: {supervisor.dead()}", file=sys.stderr)


def run_embedded(args: argparse.Namespace, plan: Plan) -> int:
    """``scripts/bench --embedded``: boot, seed, measure, print and write the results."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    gateway = nginx.pick_gateway(args.gateway)
    wrk = ensure_wrk()
    workdir = Path(tempfile.mkdtemp(prefix="bench-embedded-"))
    supervisor = Supervisor(workdir / "logs")
    started_at = datetime.now(UTC)
    load_at_start = os.getloadavg()
    print(f"scripts/bench --embedded (gateway: {gateway}): work directory {workdir}", flush=True)
    try:
        print("booting the embedded stack ...", flush=True)
        stack_, ceiling = boot_embedded(workdir, supervisor, gateway)
        print(f"seeding {plan.users} users and their tasks into SQLite ...", flush=True)
        seed_started = time.monotonic()
        tasks_db = workdir / "project_task.db"
        seeded = seed(stack_, plan.users, sqlite_tasks(tasks_db))
        seeded.seconds = round(time.monotonic() - seed_started, 1)
        script = workdir / "bench.lua"
        script.write_text(WRK_SCRIPT)
        if args.hold:
            hold(stack_, ceiling, seeded, script, supervisor)
            return 0
        families = process_families(supervisor)
        load = Load(wrk, script, stack_.gateway, families, NO_DATABASE_PREFIX)
        phases = measure(load, ceiling, seeded, plan)
        if supervisor.dead():
            raise RuntimeError(f"processes died during the run: {supervisor.dead()}")
    finally:
        supervisor.stop_all()
        if args.hold:
            shutil.rmtree(workdir, ignore_errors=True)
    rows = embedded_rows(phases, gateway, ceiling)
    print()
    print(render_table(rows))
    print()
    print(render_cpu(phases))
    results: dict[str, Any] = {
        **run_record("embedded", args.quick, started_at, load_at_start),
        "gateway": gateway,
        "settings": {
            "connections": CONNECTIONS,
            "phase_seconds": plan.seconds,
            "users": plan.users,
            "databases": "SQLite, one file per service",
            "services_down": stack_.down,
        },
        "seed": {"project_id": seeded.project_id, "seconds": seeded.seconds},
        "phases": phases,
        **rows_record(rows),
    }
    path = write_results(results, prefix=f"embedded-{gateway}-")
    print(f"\nwrote {path.relative_to(REPO)}")
    shutil.rmtree(workdir, ignore_errors=True)
    return 0 if results["pass"] else 1
