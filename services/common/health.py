"""``GET /health`` (liveness, no I/O), ``GET /health/ready`` (database, Redis and the
schema at its newest migration, 1 s timeouts, 503 naming what failed) and the
``healthcheck`` console command."""

from __future__ import annotations

import argparse
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from flask import Blueprint, Flask, current_app, json
from sqlalchemy import text

from services.common.errors import PROBLEM_MIMETYPE, problem_body
from services.common.redis_store import get_redis

CHECK_TIMEOUT = 1.0

blueprint = Blueprint("health", __name__)
_executors: dict[int, ThreadPoolExecutor] = {}


def _executor() -> ThreadPoolExecutor:
    pid = os.getpid()
    if pid not in _executors:
        _executors.clear()
        _executors[pid] = ThreadPoolExecutor(max_workers=8, thread_name_prefix="health")
    return _executors[pid]


def check_database(app: Flask) -> None:
    with app.app_context():
        db = app.extensions["sqlalchemy"]
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))


def check_redis(app: Flask) -> None:
    get_redis(app.config["REDIS_URL"]).ping()


class NotReady(Exception):
    """A readiness check that failed for a reason worth reporting as is."""


def check_migrations(app: Flask) -> None:
    """The database's schema is at (or, during a rolling update, past) the newest
    migration this code knows: a service answering before the migration job has run
    would fail its first requests."""
    state = app.extensions.setdefault("health_schema", {})
    if state.get("at_head"):
        return  # a schema never moves backwards under a running service
    if "script" not in state:
        state["script"] = ScriptDirectory(app.extensions["migrate"].directory)
    script: ScriptDirectory = state["script"]
    with app.app_context():
        engine = app.extensions["sqlalchemy"].engine
        with engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
    reached: set[str] = set()
    for revision in current:
        try:
            reached.update(r.revision for r in script.iterate_revisions(revision, "base"))
        except RevisionError:
            reached.update(script.get_heads())  # newer than this code: a later release's
    behind = sorted(set(script.get_heads()) - reached)
    if behind:
        at = ", ".join(sorted(current)) or "none"
        raise NotReady(f"behind: at {at}, head {', '.join(behind)}")
    state["at_head"] = True


def add_check(app: Flask, name: str, check: Callable[[Flask], None]) -> None:
    """Add a readiness check (a callable that raises when ``name`` is unhealthy)."""
    app.extensions.setdefault("health_checks", {})[name] = check


def run_checks(app: Flask) -> dict[str, str]:
    """Run every readiness check concurrently, each bounded by 1 s; then the schema's,
    once the database answered."""
    checks: dict[str, Callable[[Flask], None]] = {"redis": check_redis}
    if "sqlalchemy" in app.extensions:
        checks["database"] = check_database
    checks.update(app.extensions.get("health_checks", {}))
    results = _bounded(app, checks)
    if "sqlalchemy" in app.extensions and "migrate" in app.extensions:
        # After the database check, on the connection it gave back to the pool: run beside
        # it, each process would open a second connection and keep it idle ever after.
        if results["database"] == "ok":
            results.update(_bounded(app, {"migrations": check_migrations}))
        else:
            results["migrations"] = "not checked"
    return results


def _bounded(app: Flask, checks: dict[str, Callable[[Flask], None]]) -> dict[str, str]:
    futures = {name: _executor().submit(check, app) for name, check in checks.items()}
    results = {}
    for name, future in futures.items():
        try:
            future.result(timeout=CHECK_TIMEOUT)
            results[name] = "ok"
        except FutureTimeout:
            results[name] = "timeout"
        except NotReady as exc:
            results[name] = str(exc)
        except Exception as exc:
            results[name] = f"error: {type(exc).__name__}"
    return results


@blueprint.get("/health")
def live():
    """Liveness: the process answers."""
    return {"status": "ok", "service": current_app.config["SERVICE_NAME"]}


@blueprint.get("/health/ready")
def ready():
    """Readiness: the database and Redis answer within 1 s, the schema is migrated."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    results = run_checks(app)
    service = app.config["SERVICE_NAME"]
    failed = sorted(name for name, result in results.items() if result != "ok")
    if not failed:
        return {"status": "ok", "service": service, "checks": results}
    body = problem_body(
        503,
        "Not ready: " + ", ".join(failed) + ".",
        "service_unavailable",
        extra={"service": service, "status_detail": "unavailable", "checks": results},
    )
    return current_app.response_class(json.dumps(body), 503, mimetype=PROBLEM_MIMETYPE)


def init_app(app: Flask) -> None:
    """Register the health endpoints with the default database and Redis checks."""
    app.register_blueprint(blueprint)


def main(argv: list[str] | None = None) -> int:
    """Console command for container health checks: exit 0 when the service is ready."""
    parser = argparse.ArgumentParser(
        prog="healthcheck",
        description="Exit 0 when the service on this host answers /health/ready, else 1.",
    )
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--path", default="/health/ready")
    parser.add_argument("--timeout", type=float, default=3.0)
    args = parser.parse_args(argv)
    url = f"http://127.0.0.1:{args.port}{args.path}"
    try:
        with urllib.request.urlopen(url, timeout=args.timeout) as response:
            ok = response.status == 200
    except (urllib.error.URLError, OSError) as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1
    print("healthy" if ok else "unhealthy")
    return 0 if ok else 1
