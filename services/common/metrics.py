"""Prometheus metrics at ``GET /metrics`` (never routed publicly by nginx).

Per request: ``http_requests_total`` and ``http_request_duration_seconds`` (by service,
method, endpoint and status). Read when scraped, from the service's own database and
Redis: ``outbox_backlog`` and ``outbox_oldest_pending_seconds`` (events not relayed
yet), and for a service with a Celery worker its queue's ``celery_queue_length``,
``celery_workers_alive`` and each worker's ``celery_worker_heartbeat_age_seconds``.
deploy/grafana/dashboards/taskplatform.json charts them.

Under gunicorn with several workers set ``PROMETHEUS_MULTIPROC_DIR`` so the figures
of all workers are summed.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import time
from collections.abc import Iterator
from datetime import UTC

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import func, select

from services.common.redis_store import get_redis
from services.common.registry import SERVICES
from services.common.worker_heartbeat import HEARTBEAT_MAX_AGE, heartbeat_key

log = logging.getLogger(__name__)

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


class BacklogCollector:
    """Figures read at scrape time: the outbox rows not yet relayed and, for a service
    with a Celery worker, its queue's length and its workers' heartbeats. A figure whose
    source does not answer is left out of the scrape (Prometheus shows the gap)."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.service = app.config["SERVICE_NAME"]
        info = SERVICES.get(self.service)
        has_worker = info and importlib.util.find_spec(f"services.{info.package}.worker")
        self.queue = info.queue if has_worker else None

    def collect(self) -> Iterator[Metric]:
        try:
            yield from self._outbox()
        except Exception as exc:
            log.warning("outbox metrics unavailable: %s", exc)
        if self.queue:
            try:
                yield from self._queue(self.queue)
            except Exception as exc:
                log.warning("queue metrics unavailable: %s", exc)

    def _outbox(self) -> Iterator[Metric]:
        outbox = self.app.extensions.get("outbox")
        if outbox is None:
            return
        model = outbox.model
        query = select(func.count(), func.min(model.created_at)).where(model.published_at.is_(None))
        with self.app.app_context(), outbox.db.engine.connect() as connection:
            count, oldest = connection.execute(query).one()
        backlog = GaugeMetricFamily(
            "outbox_backlog", "Events written but not yet relayed to consumers", labels=["service"]
        )
        backlog.add_metric([self.service], count)
        age = GaugeMetricFamily(
            "outbox_oldest_pending_seconds",
            "Age of the oldest event not yet relayed (0 when none is waiting)",
            labels=["service"],
        )
        age.add_metric([self.service], _age(oldest))
        yield from (backlog, age)

    def _queue(self, queue: str) -> Iterator[Metric]:
        client = get_redis(self.app.config["REDIS_URL"])
        pipe = client.pipeline(transaction=False)
        pipe.llen(queue)
        pipe.zrange(heartbeat_key(queue), 0, -1, withscores=True)
        length, beats = pipe.execute()
        now = time.time()
        depth = GaugeMetricFamily(
            "celery_queue_length", "Jobs waiting in the queue", labels=["queue"]
        )
        depth.add_metric([queue], length)
        ages = GaugeMetricFamily(
            "celery_worker_heartbeat_age_seconds",
            "Seconds since each worker of the queue last recorded its heartbeat",
            labels=["queue", "worker"],
        )
        alive = 0
        for node, beat in beats:
            name = node.decode() if isinstance(node, bytes) else node
            ages.add_metric([queue, name], max(0.0, now - beat))
            alive += now - beat <= HEARTBEAT_MAX_AGE
        workers = GaugeMetricFamily(
            "celery_workers_alive",
            "Workers of the queue whose heartbeat is recent",
            labels=["queue"],
        )
        workers.add_metric([queue], alive)
        yield from (depth, workers, ages)


def _age(moment) -> float:
    if moment is None:
        return 0.0
    if moment.tzinfo is None:  # SQLite hands naive UTC back
        return max(0.0, time.time() - moment.replace(tzinfo=UTC).timestamp())
    return max(0.0, time.time() - moment.timestamp())


def init_app(app: Flask) -> None:
    """Count and time every request and serve ``/metrics``."""
    service = app.config["SERVICE_NAME"]
    backlog = CollectorRegistry(auto_describe=False)
    backlog.register(BacklogCollector(app))

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
        body = generate_latest(_registry()) + generate_latest(backlog)
        return Response(body, mimetype=CONTENT_TYPE_LATEST)
