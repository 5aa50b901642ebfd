"""The benchmarks' pure parts: reading wrk's report and Prometheus counters, percentiles,
CPU per request, and the result tables (tests/scripts/test_bench.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_DURATION = re.compile(r"^([\d.]+)(us|ms|s|m|h)$")
_PERCENTILE = re.compile(r"^\s*(50|75|90|99)(?:\.0+)?%\s+(\S+)\s*$", re.M)
_TOTAL = re.compile(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h)", re.M)
_RPS = re.compile(r"^Requests/sec:\s+([\d.]+)", re.M)
_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_SOCKET_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


def duration_ms(text: str) -> float:
    """wrk's duration notation (``850.00us``, ``12.34ms``, ``1.02s``, ``1.50m``) in ms."""
    match = _DURATION.match(text.strip())
    if not match:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def parse_wrk(output: str) -> dict[str, Any]:
    """Requests/s, the latency distribution (``--latency``), totals and errors from
    wrk's report."""
    rps = _RPS.search(output)
    total = _TOTAL.search(output)
    if not rps or not total:
        raise ValueError("no summary in wrk's output:\n" + output)
    percentiles = {f"p{p}_ms": duration_ms(v) for p, v in _PERCENTILE.findall(output)}
    if "p50_ms" not in percentiles or "p99_ms" not in percentiles:
        raise ValueError("no latency distribution in wrk's output (run it with --latency)")
    non_2xx = _NON_2XX.search(output)
    errors = _SOCKET_ERRORS.search(output)
    return {
        "requests": int(total.group(1)),
        "seconds": duration_ms(total.group(2) + total.group(3)) / 1000,
        "rps": float(rps.group(1)),
        **percentiles,
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": sum(int(n) for n in errors.groups()) if errors else 0,
    }


def counter_total(metrics: str, name: str, **labels: str) -> float:
    """Sum of a Prometheus counter's samples whose labels include ``labels``."""
    total = 0.0
    wanted = [f'{key}="{value}"' for key, value in labels.items()]
    for line in metrics.splitlines():
        if not line.startswith(name + "{"):
            continue
        label_text, _, value = line.rpartition("} ")
        if all(pair in label_text for pair in wanted):
            total += float(value)
    return total


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (``share`` in 0..1) of ``values``."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * share // 1))  # ceil(n * share), at least 1
    return ordered[int(rank) - 1]


def cpu_per_request(before: dict, after: dict, requests: int) -> dict[str, float]:
    """CPU milliseconds per request of each family that used a noticeable share."""
    used = {k: 1000 * (after[k] - before.get(k, 0.0)) / requests for k in after}
    return {k: round(v, 2) for k, v in sorted(used.items(), key=lambda kv: -kv[1]) if v >= 0.01}


@dataclass
class Row:
    id: str
    figure: str
    value: str
    target: str
    ok: bool | None  # None: context or not measured

    @property
    def verdict(self) -> str:
        if self.ok is None:
            return "-" if self.target == "-" else "not measured"
        return "PASS" if self.ok else "FAIL"


def render_table(rows: list[Row]) -> str:
    """The result table as aligned text columns."""
    header = Row("id", "figure", "measured", "target", None)
    table = [header, *rows]
    widths = [max(len(getattr(r, attr)) for r in table) for attr in ("id", "figure", "value")]
    target_width = max(len(r.target) for r in table)
    lines = []
    for row in table:
        verdict = "result" if row is header else row.verdict
        lines.append(
            f"{row.id:<{widths[0]}}  {row.figure:<{widths[1]}}  {row.value:<{widths[2]}}  "
            f"{row.target:<{target_width}}  {verdict}"
        )
    return "\n".join(lines)


def render_cpu(phases: dict[str, dict]) -> str:
    """One line per phase: the CPU milliseconds each process family spent per request."""
    lines = ["CPU ms per request (user + system, this run's processes and PostgreSQL backends):"]
    for name, phase in phases.items():
        used = ", ".join(f"{k} {v:.2f}" for k, v in phase["cpu_ms_per_request"].items())
        total = sum(phase["cpu_ms_per_request"].values())
        lines.append(f"  {name:<8} {total:6.2f} = {used}")
    return "\n".join(lines)
