"""Celery worker heartbeats in Redis, so health checks need no broadcast to the workers.

Every worker records its node name (``notification@host``) with the current time in the
sorted set ``celery:heartbeat:<queue>`` every few seconds, from a bootstep on the
worker's own timer: a worker whose event loop is stuck stops beating. Reading a queue's
set is one Redis round trip, where ``celery inspect ping`` waits out its whole timeout.

``worker-healthcheck --queue notification`` is the container health check of a worker
(this host's node beat recently); ``worker-healthcheck --broker`` only pings Redis
(for beat, which consumes no queue).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import socket
import sys
import time

import redis
from celery import bootsteps

from services.common.config import env

HEARTBEAT_INTERVAL = 5.0
HEARTBEAT_MAX_AGE = 15.0
FORGET_AFTER = 3600
KEY_PREFIX = "celery:heartbeat:"

log = logging.getLogger(__name__)


def heartbeat_key(queue: str) -> str:
    return KEY_PREFIX + queue


def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)


def record_beat(client: redis.Redis, queues: list[str], node: str) -> None:
    """Note that ``node`` is alive and consuming ``queues``."""
    now = time.time()
    pipe = client.pipeline(transaction=False)
    for queue in queues:
        key = heartbeat_key(queue)
        pipe.zadd(key, {node: now})
        pipe.zremrangebyscore(key, "-inf", now - FORGET_AFTER)
        pipe.expire(key, FORGET_AFTER)
    pipe.execute()


def forget(client: redis.Redis, queues: list[str], node: str) -> None:
    """Drop ``node`` at once (a clean shutdown), so health sees it gone without waiting."""
    pipe = client.pipeline(transaction=False)
    for queue in queues:
        pipe.zrem(heartbeat_key(queue), node)
    pipe.execute()


def live_workers(client: redis.Redis, queue: str, max_age: float = HEARTBEAT_MAX_AGE) -> list[str]:
    """Node names that beat for ``queue`` within ``max_age`` seconds."""
    members = client.zrangebyscore(heartbeat_key(queue), time.time() - max_age, "+inf")
    return sorted(m.decode() if isinstance(m, bytes) else m for m in members)


class Heartbeat(bootsteps.StartStopStep):
    """Worker bootstep: beat on the worker's timer while the worker runs."""

    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker, **kwargs) -> None:
        self.timer_ref = None
        self.client: redis.Redis | None = None
        self.queues: list[str] = []

    def start(self, worker) -> None:
        url = str(worker.app.conf.broker_url or "")
        if not url.startswith(("redis://", "rediss://", "unix://")):
            return
        self.client = _client(url)
        selected = worker.app.amqp.queues.consume_from or worker.app.amqp.queues
        self.queues = sorted(selected)
        self.beat(worker)
        self.timer_ref = worker.timer.call_repeatedly(HEARTBEAT_INTERVAL, self.beat, (worker,))

    def beat(self, worker) -> None:
        try:
            record_beat(self.client, self.queues, worker.hostname)
        except redis.RedisError as exc:
            log.warning("worker heartbeat not recorded: %s", exc)

    def stop(self, worker) -> None:
        if self.timer_ref is not None:
            self.timer_ref.cancel()
            self.timer_ref = None
        if self.client is not None:
            with contextlib.suppress(redis.RedisError):
                forget(self.client, self.queues, worker.hostname)


def main(argv: list[str] | None = None) -> int:
    """Console command for worker and beat containers: exit 0 when healthy, else 1."""
    parser = argparse.ArgumentParser(
        prog="worker-healthcheck",
        description="Exit 0 when this host's Celery worker beat recently (or, with "
        "--broker, when the broker answers), else 1.",
    )
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--queue", help="the queue this host's worker consumes")
    group.add_argument("--broker", action="store_true", help="only ping the broker")
    args = parser.parse_args(argv)
    client = _client(env("REDIS_URL", "redis://127.0.0.1:6379/0"))
    try:
        if args.broker:
            client.ping()
            print("healthy")
            return 0
        node = f"{args.queue}@{socket.gethostname()}"
        alive = node in live_workers(client, args.queue)
    except redis.RedisError as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1
    print("healthy" if alive else f"unhealthy: no recent heartbeat from {node}")
    return 0 if alive else 1
