"""scripts/bench's pure parts (scripts/benchmarks/figures.py): reading wrk's report and
Prometheus counters, the percentile and the result table; and that both entry points
still answer --help. (The benchmark itself is run by hand, never timed here.)"""

from __future__ import annotations

import subprocess
import sys

import pytest

from scripts import stack
from scripts.benchmarks import figures

WRK_REPORT = """Running 15s test @ http://127.0.0.1:40000
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    12.35ms    4.10ms  98.00ms   80.12%
    Req/Sec     1.30k   210.00     1.80k    70.00%
  Latency Distribution
     50%  850.00us
     75%   14.10ms
     90%   18.00ms
     99%    1.02s
  39000 requests in 15.01s, 12.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 7
Requests/sec:   2598.27
Transfer/sec:    818.00KB
"""


@pytest.fixture(scope="module")
def bench():
    return figures


def test_wrk_report_is_read_with_its_units(bench):
    result = bench.parse_wrk(WRK_REPORT)

    assert result["requests"] == 39000
    assert result["seconds"] == pytest.approx(15.01)
    assert result["rps"] == pytest.approx(2598.27)
    assert result["p50_ms"] == pytest.approx(0.85)
    assert result["p75_ms"] == pytest.approx(14.1)
    assert result["p99_ms"] == pytest.approx(1020.0)
    assert result["non_2xx"] == 7
    assert result["socket_errors"] == 3


def test_clean_wrk_report_has_no_errors(bench):
    clean = "\n".join(
        line for line in WRK_REPORT.splitlines() if "errors" not in line and "Non-2xx" not in line
    )

    result = bench.parse_wrk(clean)

    assert (result["non_2xx"], result["socket_errors"]) == (0, 0)


def test_wrk_report_without_latency_distribution_is_refused(bench):
    without = WRK_REPORT.split("  Latency Distribution")[0] + WRK_REPORT.split("99%    1.02s\n")[1]

    with pytest.raises(ValueError, match="--latency"):
        bench.parse_wrk(without)


@pytest.mark.parametrize(
    ("text", "ms"),
    [("850.00us", 0.85), ("12.34ms", 12.34), ("1.02s", 1020.0), ("1.50m", 90_000.0)],
)
def test_wrk_durations(bench, text, ms):
    assert bench.duration_ms(text) == pytest.approx(ms)


def test_counter_total_sums_the_matching_samples(bench):
    metrics = "\n".join(
        [
            "# HELP http_requests_total HTTP requests served",
            "# TYPE http_requests_total counter",
            'http_requests_total{endpoint="internal.verify",method="POST",service="user",status="200"} 120.0',
            'http_requests_total{endpoint="internal.verify",method="POST",service="user",status="401"} 3.0',
            'http_requests_total{endpoint="users.Me",method="GET",service="user",status="200"} 99.0',
            'http_requests_total_created{endpoint="internal.verify"} 1.7e9',
        ]
    )

    assert bench.counter_total(metrics, "http_requests_total", endpoint="internal.verify") == 123.0
    assert bench.counter_total(metrics, "http_requests_total", endpoint="nothing") == 0.0


def test_percentile_is_nearest_rank(bench):
    values = [float(v) for v in range(1, 101)]

    assert bench.percentile(values, 0.95) == 95.0
    assert bench.percentile(values, 0.50) == 50.0
    assert bench.percentile([0.3], 0.95) == 0.3


def test_table_shows_each_verdict(bench):
    rows = [
        bench.Row("P1", "task by id", "500 req/s = 62% of ceiling", ">= 60%", True),
        bench.Row("P4", "page of tasks", "90 req/s = 11% of ceiling", ">= 40%", False),
        bench.Row("P5", "dashboard (skipped)", "-", "<= 150 ms", None),
        bench.Row("ceil", "ping", "800 req/s", "-", None),
    ]

    lines = bench.render_table(rows).splitlines()

    assert lines[0].split() == ["id", "figure", "measured", "target", "result"]
    assert lines[1].endswith("PASS") and lines[2].endswith("FAIL")
    assert lines[3].endswith("not measured") and lines[4].endswith("-")


def test_personal_token_rows_judge_p1_and_p2_like_the_jwt_ones():
    from scripts.benchmarks.results import personal_token_rows

    phases = {
        "ceiling": {"rps": 1000.0},
        "p1": {"rps": 700.0},
        "p1_pat": {"rps": 650.0},
    }
    p2 = {"per_100": 0.5, "pat": {"per_100": 3.0, "verify_calls": 30, "requests": 1000}}
    p1_row, p2_row, compared = personal_token_rows(phases, p2)
    assert (p1_row.id, p1_row.ok) == ("P1", True)  # 65% of the ceiling
    assert (p2_row.id, p2_row.ok) == ("P2", False)  # 3 verify calls per 100
    assert compared.value.startswith("93% of the JWT req/s") and compared.ok is None
    assert personal_token_rows({"p1": {}}, {}) == []


@pytest.mark.parametrize(
    ("script", "options"),
    [
        ("bench", ["--quick", "--keep", "--users", "--no-reports", "--hold"]),
        ("bench_reports", ["--requests", "--tasks", "--projects", "--runs", "--keep"]),
    ],
)
def test_entry_points_answer_help(script, options):
    result = subprocess.run(
        [sys.executable, str(stack.REPO / "scripts" / script), "--help"],
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert result.returncode == 0, result.stderr
    assert all(option in result.stdout for option in options)
    assert "BENCH_POSTGRES_URL" in result.stdout
