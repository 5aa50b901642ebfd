"""scripts/bench_reports: P5 (the quick dashboard, computed and cached), P6
(project_summary CSV and PDF of a 100,000-task project, end to end) and P10 (the
timesheet CSV and PDF of 100,000 time entries in that project, end to end) against the
user, project-task and reporting services and a real reporting worker, on fresh
bench_reports_* databases."""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg2
import requests

from scripts import stack
from scripts.benchmarks.figures import percentile
from scripts.benchmarks.results import TARGETS, write_results
from scripts.benchmarks.seeding import register_and_login
from scripts.toolkit import databases
from scripts.toolkit.processes import REPO, Supervisor, free_port
from scripts.toolkit.waiting import wait_for
from services.common.registry import SERVICES

DATABASES = {
    "user": "bench_reports_user",
    "project-task": "bench_reports_project_task",
    "reporting": "bench_reports_reporting",
}

SEED_TASKS = """
INSERT INTO tasks (project_id, title, description, status, priority, assignee_id,
                   reporter_id, due_date, estimated_hours, actual_hours, completed_at,
                   created_at, updated_at)
SELECT project_id, title, NULL, status, priority, assignee_id, reporter_id, due_date,
       estimated_hours,
       CASE WHEN status = 'done' THEN round((estimated_hours * (0.5 + rh))::numeric, 1) END,
       CASE WHEN status = 'done' THEN created_at + (now() - created_at) * rdone END,
       created_at, created_at
FROM (
    SELECT
        (%(projects)s::int[])[1 + (g %% cardinality(%(projects)s::int[]))] AS project_id,
        'Task ' || g AS title,
        CASE WHEN rs < 0.30 THEN 'todo' WHEN rs < 0.50 THEN 'in_progress'
             WHEN rs < 0.60 THEN 'in_review' WHEN rs < 0.95 THEN 'done'
             ELSE 'cancelled' END AS status,
        CASE WHEN rp < 0.25 THEN 'low' WHEN rp < 0.70 THEN 'medium'
             WHEN rp < 0.92 THEN 'high' ELSE 'critical' END AS priority,
        CASE WHEN ra < 0.10 THEN NULL
             ELSE (%(assignees)s::int[])[1 + floor(ra * 1000)::int %% cardinality(%(assignees)s::int[])]
        END AS assignee_id,
        %(reporter)s AS reporter_id,
        CASE WHEN rd < 0.20 THEN NULL ELSE current_date + (floor(rd * 150)::int - 90) END
            AS due_date,
        round((rh * 16)::numeric, 1)::float8 AS estimated_hours,
        now() - rc * interval '120 days' AS created_at,
        rh,
        random() AS rdone
    FROM (
        SELECT g, random() AS rs, random() AS rp, random() AS ra, random() AS rd,
               random() AS rc, random() AS rh
        FROM generate_series(1, %(count)s) AS g
    ) AS r
) AS t
"""


# P10: time entries in the big project, by TIME_USERS people, ENTRIES_PER_DAY each a
# day (15 to 75 minutes: at most 10 hours), on the days before today, spread over its
# first TIME_TASKS tasks; then each task's spent_minutes, as the API keeps it.
TIME_USERS = 50
ENTRIES_PER_DAY = 8
TIME_TASKS = 2000
SEED_TIME_ENTRIES = """
INSERT INTO time_entries (task_id, project_id, user_id, spent_on, minutes, note, billable,
                          created_at, updated_at)
SELECT (%(tasks)s::int[])[1 + floor(random() * cardinality(%(tasks)s::int[]))::int],
       %(project)s,
       (%(users)s::int[])[1 + g %% cardinality(%(users)s::int[])],
       current_date - (g / cardinality(%(users)s::int[])) / %(per_day)s,
       15 * (1 + floor(random() * 5)::int),
       NULL,
       random() < 0.6,
       now(), now()
FROM generate_series(0, %(count)s - 1) AS g
"""
SPENT_MINUTES = """
UPDATE tasks SET spent_minutes = s.minutes
FROM (SELECT task_id, sum(minutes) AS minutes FROM time_entries GROUP BY task_id) AS s
WHERE tasks.id = s.task_id
"""


def seed_time(cursor: Any, project: int, entries: int) -> dict[str, Any]:
    """The P10 time entries of ``project``; the period they cover."""
    users = list(range(900_101, 900_101 + TIME_USERS))
    cursor.executemany(
        "INSERT INTO project_members (project_id, user_id, role, created_at, updated_at) "
        "VALUES (%s, %s, 'member', now(), now())",
        [(project, user) for user in users],
    )
    cursor.execute(
        "SELECT id FROM tasks WHERE project_id = %s ORDER BY id LIMIT %s", (project, TIME_TASKS)
    )
    tasks = [row[0] for row in cursor.fetchall()]
    cursor.execute(
        SEED_TIME_ENTRIES,
        {
            "tasks": tasks,
            "project": project,
            "users": users,
            "per_day": ENTRIES_PER_DAY,
            "count": entries,
        },
    )
    cursor.execute(SPENT_MINUTES)
    cursor.execute(
        "SELECT min(spent_on), max(spent_on), count(*) FROM time_entries WHERE project_id = %s",
        (project,),
    )
    since, until, count = cursor.fetchone()
    return {"since": since.isoformat(), "until": until.isoformat(), "entries": count}


def account(session: requests.Session, user_url: str, username: str) -> tuple[int, dict]:
    """Register and sign in ``username``; its id and bearer headers."""
    user_id, token = register_and_login(user_url, username, session)
    return user_id, {"Authorization": f"Bearer {token}"}


def seed(url: str, dash_user: int, big_user: int, tasks: int, projects: int, entries: int) -> dict:
    """Bulk-insert the P5 projects (``dash_user`` in all), the P6 project and its P10
    time entries."""
    started = time.monotonic()
    connection = psycopg2.connect(url)
    fake_members = list(range(900_001, 900_010))
    with connection, connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO projects (name, status, priority, owner_id, created_at, updated_at) "
            "SELECT 'Bench project ' || g, 'active', 'medium', %s, now(), now() "
            "FROM generate_series(1, %s) g RETURNING id",
            (dash_user, projects),
        )
        dash_projects = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "INSERT INTO projects (name, status, priority, owner_id, created_at, updated_at) "
            "VALUES ('Big project', 'active', 'high', %s, now(), now()) RETURNING id",
            (big_user,),
        )
        big_project = cursor.fetchone()[0]
        members = [(p, dash_user, "owner") for p in dash_projects]
        members += [(p, m, "member") for p in dash_projects for m in fake_members]
        members += [(big_project, big_user, "owner")]
        members += [(big_project, m, "member") for m in fake_members]
        cursor.executemany(
            "INSERT INTO project_members (project_id, user_id, role, created_at, updated_at) "
            "VALUES (%s, %s, %s, now(), now())",
            members,
        )
        for owner, ids in ((dash_user, dash_projects), (big_user, [big_project])):
            cursor.execute(
                SEED_TASKS,
                {
                    "projects": ids,
                    "assignees": [owner, *fake_members],
                    "reporter": owner,
                    "count": tasks,
                },
            )
        logged = seed_time(cursor, big_project, entries)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    connection.close()
    return {
        "dash_projects": dash_projects,
        "big_project": big_project,
        "time": logged,
        "seconds": round(time.monotonic() - started, 2),
    }


def measure_dashboard(session, url: str, headers: dict, count: int, cached: bool) -> dict:
    extra = {} if cached else {"Cache-Control": "no-cache"}
    for _ in range(5):  # warm-up: connections, pools, the cache when measuring it
        session.get(url, headers={**headers}, timeout=30).raise_for_status()
    timings = []
    for _ in range(count):
        started = time.perf_counter()
        response = session.get(url, headers={**headers, **extra}, timeout=30)
        timings.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        wanted = "hit" if cached else "miss"
        if response.headers.get("X-Cache") != wanted:
            raise SystemExit(f"expected a cache {wanted}, got {response.headers.get('X-Cache')}")
    body = response.json()
    return {
        "requests": count,
        "p50_ms": round(statistics.median(timings), 1),
        "p95_ms": round(percentile(timings, 0.95), 1),
        "max_ms": round(max(timings), 1),
        "tasks": body["tasks"]["total"],
        "projects": body["project_count"],
    }


def measure_report(
    session, url: str, headers: dict, report: dict, fmt: str, csv_marker: bytes
) -> dict:
    """One report (``{type, params}``) end to end: POST, poll until done, download."""
    started = time.perf_counter()
    response = session.post(
        f"{url}/api/reports", json={**report, "format": fmt}, headers=headers, timeout=30
    )
    response.raise_for_status()
    location = f"{url}{response.headers['Location']}"
    report = response.json()

    def finished() -> dict | None:
        current = session.get(location, headers=headers, timeout=30).json()
        return None if current["status"] in ("pending", "running") else current

    if report["status"] in ("pending", "running"):
        report = wait_for(finished, timeout=120, interval=0.05)
        if report is None:
            raise SystemExit(f"{fmt} report still pending or running after 120 s")
    if report["status"] != "completed":
        raise SystemExit(f"{fmt} report ended {report['status']}: {report.get('error')}")
    download = session.get(f"{url}{report['download_url']}", headers=headers, timeout=60)
    download.raise_for_status()
    content = download.content
    elapsed = time.perf_counter() - started
    if fmt == "pdf" and not content.startswith(b"%PDF"):
        raise SystemExit("the PDF download is not a PDF")
    if fmt == "csv" and csv_marker not in content:
        raise SystemExit(f"the CSV download has no {csv_marker.decode()!r}")
    generation = datetime.fromisoformat(report["finished_at"]) - datetime.fromisoformat(
        report["started_at"]
    )
    return {
        "seconds": round(elapsed, 3),
        "generation_seconds": round(generation.total_seconds(), 3),
        "bytes": len(content),
    }


def measure_dashboard_internal(session, url: str, headers: dict, count: int) -> dict:
    """The same dashboard straight from project-task's internal endpoint (for context)."""
    timings = []
    for index in range(count + 5):
        started = time.perf_counter()
        session.get(url, headers=headers, timeout=30).raise_for_status()
        if index >= 5:
            timings.append((time.perf_counter() - started) * 1000)
    return {"requests": count, "p50_ms": round(statistics.median(timings), 1)}


def run(args: argparse.Namespace) -> int:
    """The whole P5/P6 benchmark as ``args`` (scripts/bench_reports' options) ask."""
    load_start = round(os.getloadavg()[0], 2)
    server = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    workdir = Path(tempfile.mkdtemp(prefix="bench-reports-"))
    supervisor = Supervisor(workdir)
    redis_port = free_port()
    base_env = {
        **{k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"},
        "SERVICE_TOKEN": secrets.token_urlsafe(32),
        "JWT_SECRET_KEY": secrets.token_urlsafe(48),
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "VAR_DIR": str(workdir),
        "REPORT_STORAGE_DIR": str(workdir / "reports"),
        "LOG_LEVEL": "WARNING",
        "RATELIMIT_USER": "1000000/minute",
        "RATELIMIT_AUTH": "100000/minute",
        "WEB_CONCURRENCY": "2",
        "PYTHONPATH": str(REPO),
    }
    ports = {name: free_port() for name in DATABASES}
    for name, port in ports.items():
        base_env[SERVICES[name].url_setting] = f"http://127.0.0.1:{port}"
    try:
        print(f"work directory {workdir}", flush=True)
        redis = stack.embedded_redis_command(redis_port, workdir / "redis")
        supervisor.spawn("redis", redis, base_env)
        envs = {}
        for name, database in DATABASES.items():
            databases.create_database(server, database, replace=True)
            envs[name] = {**base_env, "DATABASE_URL": databases.database_url(server, database)}
            stack.migrate(SERVICES[name], envs[name])
        urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        for name in DATABASES:
            command = stack.gunicorn_command(SERVICES[name], ports[name])
            supervisor.spawn(name, command, envs[name], ports[name])
        worker = supervisor.spawn(
            "reporting-worker", stack.worker_command(SERVICES["reporting"]), envs["reporting"]
        )
        for name in DATABASES:
            supervisor.processes[name].wait_ready("/health")
        session = requests.Session()
        suffix = secrets.token_hex(3)
        dash_id, dash_headers = account(session, urls["user"], f"bench-dash-{suffix}")
        big_id, big_headers = account(session, urls["user"], f"bench-big-{suffix}")
        print(
            f"seeding {args.tasks:,} + {args.tasks:,} tasks, {args.entries:,} time entries ...",
            flush=True,
        )
        seeded = seed(
            envs["project-task"]["DATABASE_URL"],
            dash_id,
            big_id,
            args.tasks,
            args.projects,
            args.entries,
        )
        print(f"seeded in {seeded['seconds']} s", flush=True)
        worker.wait_ready(wait_log=" ready.")

        dashboard = f"{urls['reporting']}/api/reports/quick/dashboard"
        cold = measure_dashboard(session, dashboard, dash_headers, args.requests, cached=False)
        warm = measure_dashboard(session, dashboard, dash_headers, args.requests, cached=True)
        direct = f"{urls['project-task']}/internal/reports/dashboard?user_id={dash_id}"
        service_headers = {"X-Service-Token": base_env["SERVICE_TOKEN"]}
        internal = measure_dashboard_internal(session, direct, service_headers, args.requests)
        summary = {"type": "project_summary", "params": {"project_id": seeded["big_project"]}}
        reports = {
            fmt: [
                measure_report(
                    session, urls["reporting"], big_headers, summary, fmt, b"Total tasks,"
                )
                for _ in range(args.runs)
            ]
            for fmt in ("csv", "pdf")
        }
        period = {"since": seeded["time"]["since"], "until": seeded["time"]["until"]}
        timesheets = {}
        for group_by, runs in (("day", args.runs), ("task", 1)):
            sheet = {
                "type": "timesheet",
                "params": {"project_id": seeded["big_project"], "group_by": group_by, **period},
            }
            for fmt in ("csv", "pdf"):
                timesheets[f"{group_by}_{fmt}"] = [
                    measure_report(session, urls["reporting"], big_headers, sheet, fmt, b"Minutes,")
                    for _ in range(runs)
                ]
    finally:
        supervisor.stop_all()
        if not args.keep:
            for database in DATABASES.values():
                try:
                    databases.drop_database(server, database)
                except Exception as exc:  # best effort: report and go on
                    print(f"could not drop {database}: {exc}", file=sys.stderr)

    p6 = {fmt: statistics.median(r["seconds"] for r in runs) for fmt, runs in reports.items()}
    rows = [
        (
            f"P5 quick dashboard p50, computed ({cold['projects']} projects, {cold['tasks']:,} tasks)",
            f"{cold['p50_ms']} ms (p95 {cold['p95_ms']})",
            f"<= {TARGETS['P5']:.0f} ms",
            cold["p50_ms"] <= TARGETS["P5"],
        ),
        (
            "P5 quick dashboard p50, cached",
            f"{warm['p50_ms']} ms (p95 {warm['p95_ms']})",
            f"<= {TARGETS['P5']:.0f} ms",
            warm["p50_ms"] <= TARGETS["P5"],
        ),
        (
            "   (project-task aggregate alone, p50)",
            f"{internal['p50_ms']} ms",
            "-",
            None,
        ),
    ]
    for fmt, runs in reports.items():
        rows.append(
            (
                f"P6 project_summary {fmt.upper()} end to end, median of {len(runs)} ({args.tasks:,} tasks)",
                f"{p6[fmt]:.2f} s (max {max(r['seconds'] for r in runs):.2f}, "
                f"{runs[0]['bytes']:,} bytes)",
                f"<= {TARGETS[f'P6_{fmt}']:.0f} s",
                p6[fmt] <= TARGETS[f"P6_{fmt}"],
            )
        )
    entries = seeded["time"]["entries"]
    for key, runs in timesheets.items():
        group_by, fmt = key.split("_")
        median = statistics.median(r["seconds"] for r in runs)
        target = TARGETS[f"P10_{fmt}"]
        rows.append(
            (
                f"P10 timesheet per {group_by} {fmt.upper()} end to end, median of {len(runs)} "
                f"({entries:,} entries)",
                f"{median:.2f} s (max {max(r['seconds'] for r in runs):.2f}, "
                f"{runs[0]['bytes']:,} bytes)",
                f"<= {target:.0f} s",
                median <= target,
            )
        )
    width = max(len(r[0]) for r in rows)
    value_width = max(len(r[1]) for r in rows)
    print()
    print(f"{'figure'.ljust(width)}  {'measured'.ljust(value_width)}  {'target':<9}  result")
    for figure, value, target, ok in rows:
        verdict = "-" if ok is None else ("PASS" if ok else "FAIL")
        print(f"{figure.ljust(width)}  {value.ljust(value_width)}  {target:<9}  {verdict}")
    results = {
        "bench": "reports",
        "when": datetime.now(UTC).isoformat(),
        "machine": {
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "load_average_1m": {"start": load_start, "end": round(os.getloadavg()[0], 2)},
        },
        "seed": {"tasks_per_set": args.tasks, "projects": args.projects, **seeded},
        "p5": {"computed": cold, "cached": warm, "project_task_internal": internal},
        "p6": reports,
        "p10": timesheets,
        "pass": all(ok for *_, ok in rows if ok is not None),
    }
    out = write_results(results, prefix="reports-")
    print(f"\nload average (1 min) {load_start} at the start, {os.getloadavg()[0]:.2f} at the end")
    print(f"wrote {out.relative_to(REPO)}")
    return 0 if results["pass"] else 1
