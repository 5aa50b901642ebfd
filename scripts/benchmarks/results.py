"""scripts/bench's verdicts: the targets of docs/testing.md, the rows of its table, and where
the results are written."""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scripts.benchmarks.figures import Row
from scripts.toolkit.processes import REPO

RESULTS_DIR = REPO / "bench" / "results"
TARGETS = {
    "P1": 0.60,  # share of the ceiling's requests/s
    "P2": 2.0,  # verify calls per 100 authenticated requests
    "P3": 5.0,  # p99 / p50
    "P4": 0.40,  # share of the ceiling's requests/s
    "P5": 150.0,  # ms, p50
    "P6_csv": 5.0,  # s
    "P6_pdf": 15.0,  # s
    "P7": 1.0,  # s, p95
    "P10_csv": 5.0,  # s
    "P10_pdf": 15.0,  # s
    "P8": 0.3,  # s, p95, SSE and WebSocket
    "P9_mb": 300.0,  # extra memory of 1,000 idle streams
    "P9_drop": 0.10,  # share of P1's requests/s lost while they are open
}


def share_row(pid: str, figure: str, phase: dict, ceiling: dict, target: float) -> Row:
    share = phase["rps"] / ceiling["rps"]
    return Row(
        pid,
        figure,
        f"{phase['rps']:,.0f} req/s = {share:.0%} of ceiling",
        f">= {target:.0%}",
        share >= target,
    )


def tail_row(pid: str, figure: str, phase: dict) -> Row:
    ratio = phase["p99_ms"] / phase["p50_ms"]
    return Row(
        pid,
        figure,
        f"p99/p50 = {phase['p99_ms']:.1f}/{phase['p50_ms']:.1f} ms = {ratio:.1f}x",
        f"<= {TARGETS['P3']:.0f}x",
        ratio <= TARGETS["P3"],
    )


def report_rows(reports: dict[str, Any]) -> list[Row]:
    if not reports.get("measured"):
        reason = reports.get("reason", "")
        return [
            Row("P5", f"quick dashboard p50 ({reason})", "-", "<= 150 ms", None),
            Row("P6", f"project_summary CSV/PDF ({reason})", "-", "<= 5 s / 15 s", None),
            Row("P10", f"timesheet CSV/PDF ({reason})", "-", "<= 5 s / 15 s", None),
        ]
    p5 = reports["p5"]["computed"]
    rows = [
        Row(
            "P5",
            f"quick dashboard p50, computed ({p5['projects']} projects, {p5['tasks']:,} tasks)",
            f"{p5['p50_ms']} ms (cached {reports['p5']['cached']['p50_ms']} ms)",
            f"<= {TARGETS['P5']:.0f} ms",
            p5["p50_ms"] <= TARGETS["P5"],
        )
    ]
    for fmt in ("csv", "pdf"):
        figure = f"project_summary {fmt.upper()} end to end"
        rows.append(_seconds_row("P6", figure, reports["p6"][fmt], TARGETS[f"P6_{fmt}"]))
    for key, runs in reports.get("p10", {}).items():
        group_by, fmt = key.split("_")
        figure = f"timesheet per {group_by} {fmt.upper()} end to end"
        rows.append(_seconds_row("P10", figure, runs, TARGETS[f"P10_{fmt}"]))
    return rows


def verify_row(figure: str, p2: dict) -> Row:
    return Row(
        "P2",
        f"{figure} ({p2['requests']:,} requests)",
        f"{p2['per_100']:.2f} ({p2['verify_calls']:.0f} calls)",
        f"<= {TARGETS['P2']:.0f}",
        p2["per_100"] <= TARGETS["P2"],
    )


def personal_token_rows(phases: dict, p2: dict) -> list[Row]:
    """P1 and P2 again with personal access tokens, and how they compare with JWTs."""
    if "p1_pat" not in phases:
        return []
    p1, pat = phases["p1"], phases["p1_pat"]
    return [
        share_row(
            "P1",
            "GET /api/tasks/{id}, personal access token",
            pat,
            phases["ceiling"],
            TARGETS["P1"],
        ),
        verify_row("verify calls per 100 requests, personal access token", p2["pat"]),
        Row(
            "PAT",
            "personal access token vs access token (P1 req/s; P2 verify calls per 100)",
            f"{pat['rps'] / p1['rps']:.0%} of the JWT req/s; {p2['pat']['per_100']:.2f} vs "
            f"{p2['per_100']:.2f}",
            "-",
            None,
        ),
    ]


def _seconds_row(pid: str, figure: str, runs: list[dict], target: float) -> Row:
    """A report's median seconds over its runs against its target."""
    seconds = sorted(r["seconds"] for r in runs)[len(runs) // 2]
    return Row(
        pid,
        f"{figure}, median of {len(runs)}",
        f"{seconds:.2f} s",
        f"<= {target:.0f} s",
        seconds <= target,
    )


def live_rows(p8: dict, p9: dict) -> list[Row]:
    """P8 per transport and P9's memory and P1 drop."""
    rows = []
    for transport in ("sse", "websocket"):
        got = p8[transport]
        if got["p95_s"] is None:
            value, ok = f"{got['missing']} of {p8['writes']} events missing after 30 s", False
        else:
            value = f"p95 {got['p95_s'] * 1000:.0f} ms (p50 {got['p50_s'] * 1000:.0f}, max {got['max_s'] * 1000:.0f})"
            ok = got["p95_s"] <= TARGETS["P8"]
        figure = f"task write -> {transport.upper() if transport == 'sse' else 'WebSocket'} client, {p8['writes']} at {p8['rate_per_s']:g}/s"
        rows.append(Row("P8", figure, value, f"<= {TARGETS['P8'] * 1000:.0f} ms", ok))
    extra = ", ".join(f"{k} {v:+.0f}" for k, v in p9["extra_mb"].items())
    rows.append(
        Row(
            "P9",
            f"{p9['streams']:,} idle streams: extra memory "
            f"({p9['opened']:,} opened, {p9['alive_at_end']:,} open at the end)",
            f"{p9['extra_total_mb']:.0f} MB ({extra})",
            f"<= {TARGETS['P9_mb']:.0f} MB",
            p9["extra_total_mb"] <= TARGETS["P9_mb"] and p9["alive_at_end"] == p9["streams"],
        )
    )
    rows.append(
        Row(
            "P9",
            f"P1 with {p9['streams']:,} streams open vs just before",
            f"{p9['p1_with']['rps']:,.0f} vs {p9['p1_without']['rps']:,.0f} req/s: drop {p9['p1_drop']:+.1%}",
            f"drop <= {TARGETS['P9_drop']:.0%}",
            p9["p1_drop"] <= TARGETS["P9_drop"],
        )
    )
    return rows


def build_rows(phases: dict, p2: dict, p7: dict, reports: dict) -> list[Row]:
    ceiling, p1, p4 = phases["ceiling"], phases["p1"], phases["p4"]
    rows = [
        Row(
            "ceil",
            "GET /bench/ping (no I/O, same nginx + gunicorn)",
            f"{ceiling['rps']:,.0f} req/s, p50 {ceiling['p50_ms']:.1f} ms",
            "-",
            None,
        ),
        share_row("P1", "GET /api/tasks/{id}, authenticated", p1, ceiling, TARGETS["P1"]),
        verify_row("verify calls per 100 requests", p2),
        tail_row("P3", "tail at 32 connections, P1's endpoint", p1),
        tail_row("P3", "tail at 32 connections, P4's endpoint", p4),
        share_row("P4", "filtered, sorted page of 50 of 10,000 tasks", p4, ceiling, TARGETS["P4"]),
        *personal_token_rows(phases, p2),
        *report_rows(reports),
    ]
    if p7.get("p95_s") is None:
        value = f"{p7['missing']} of {p7['tasks']} entries missing after 30 s"
        ok = False
    else:
        value = f"p95 {p7['p95_s']:.3f} s (p50 {p7['p50_s']:.3f}, max {p7['max_s']:.3f})"
        ok = p7["p95_s"] <= TARGETS["P7"]
    rows.append(
        Row(
            "P7",
            f"task write -> activity entry, {p7['tasks']} at {p7['rate_per_s']:g}/s",
            value,
            f"<= {TARGETS['P7']:.0f} s",
            ok,
        )
    )
    return rows


def run_record(
    bench: str, quick: bool, started_at: datetime, load_at_start: tuple[float, ...]
) -> dict[str, Any]:
    """What every results file starts with: which bench, how long, when, on what."""
    return {
        "bench": bench,
        "mode": "quick" if quick else "full",
        "started_at": started_at.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "machine": {
            "cpus": os.cpu_count(),
            "loadavg_at_start": [round(x, 2) for x in load_at_start],
            "python": sys.version.split()[0],
        },
    }


def rows_record(rows: list[Row]) -> dict[str, Any]:
    """The verdict rows as the results file keeps them, and whether all passed."""
    return {
        "rows": [
            {
                "id": r.id,
                "figure": r.figure,
                "measured": r.value,
                "target": r.target,
                "result": r.verdict,
            }
            for r in rows
        ],
        "pass": all(r.ok is not False for r in rows),
    }


def write_results(results: dict[str, Any], prefix: str = "") -> Path:
    """Write ``results`` as bench/results/<prefix><timestamp>.json."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{prefix}{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    return path
