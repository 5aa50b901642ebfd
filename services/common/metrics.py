"""Prometheus metrics at ``GET /metrics`` (never routed publicly by nginx).

Under gunicorn with several workers set ``PROMETHEUS_MULTIPROC_DIR`` so the figures
of all workers are summed.
"""

from __future__ import annotations

import os
import time

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUESTS = Counter(
    "http_requests_total", "HTTP requests served", ["service", "method", "endpoint", "status"]
)
LATENCY = Histogram(
    "http_request_duration_seconds",
    "Time to serve an HTTP request",
    ["service", "method", "endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def _registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    from prometheus_client import REGISTRY

    return REGISTRY


def init_app(app: Flask) -> None:
    """Count and time every request and serve ``/metrics``."""
    service = app.config["SERVICE_NAME"]

    @app.before_request
    def _start_timer() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _observe(response: Response) -> Response:
        endpoint = request.endpoint or "unmatched"
        if endpoint != "metrics":
            REQUESTS.labels(service, request.method, endpoint, response.status_code).inc()
            started = g.get("metrics_started")
            if started is not None:
                LATENCY.labels(service, request.method, endpoint).observe(
                    time.perf_counter() - started
                )
        return response

    @app.get("/metrics", endpoint="metrics")
    def metrics() -> Response:
        """Prometheus exposition of this service's metrics."""
        return Response(generate_latest(_registry()), mimetype=CONTENT_TYPE_LATEST)
