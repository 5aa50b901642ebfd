"""The Grafana dashboard's queries (deploy/grafana/dashboards/taskplatform.json): each
panel's PromQL, ready to run outside Grafana, and the metric names it charts. The tests
check those names against the services' real /metrics; scripts/container-smoke runs the
queries on the stack's Prometheus."""

from __future__ import annotations

import json
import re
from pathlib import Path

DASHBOARD = (
    Path(__file__).resolve().parents[1] / "deploy" / "grafana" / "dashboards" / "taskplatform.json"
)
# What Grafana puts in for its variables when it runs a panel's query.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$service": ".*"}
_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool"}
_KEYWORDS |= {"and", "or", "unless", "offset", "inf", "nan"}


def expressions() -> list[tuple[str, str]]:
    """(panel title, PromQL) for every query of every panel."""
    dashboard = json.loads(DASHBOARD.read_text())
    return [(p["title"], t["expr"]) for p in dashboard["panels"] for t in p["targets"]]


def runnable(expr: str) -> str:
    """The expression with Grafana's variables filled in."""
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    return expr


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (not its functions, labels or
    keywords)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)  # strings
    expr = re.sub(r"\{[^}]*\}|\[[^\]]*\]", "", expr)  # matchers and ranges
    expr = re.sub(r"\b(?:by|without|on|ignoring)\s*\([^)]*\)", "", expr)  # label lists
    names = set()
    for match in re.finditer(r"(?<![\w$.])([A-Za-z_:][\w:]*)(\s*\()?", expr):
        name, call = match.groups()
        if not call and name not in _KEYWORDS:
            names.add(name)
    return names
