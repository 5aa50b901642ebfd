"""A real activity-log service, served from a thread of the test process, for tests of
the services that ask it for summaries over HTTP (reporting). Entries are written the
way its consumer writes them: by running its ``activity_log.consume_event`` job."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from flask import g
from flask_migrate import upgrade
from werkzeug.serving import make_server

from services.activity_log import MIGRATIONS, create_app
from services.activity_log.config import Config
from services.activity_log.extensions import db
from services.common.events import build_envelope
from services.common.testing import configure_for_tests, empty_tables


@dataclass
class ActivityLogService:
    url: str
    app: Any
    _server: Any

    def record(self, event_type: str, *, actor: Any, entity: tuple[str, int], **fields) -> dict:
        """Store one event as the consumer would; returns its envelope."""
        with self.app.test_request_context():
            g.request_id = "test"
            envelope = build_envelope(event_type, actor=actor, entity=entity, **fields)
        task = self.app.extensions["celery"].tasks["activity_log.consume_event"]
        result = task.apply(args=[envelope])
        assert result.successful(), result.traceback
        return envelope

    def clear(self) -> None:
        with self.app.app_context():
            empty_tables(db)

    def close(self) -> None:
        self._server.shutdown()


def start_activity_log_service(
    backing: Any, user_service_url: str, project_task_url: str
) -> ActivityLogService:
    """Migrate a fresh database and serve activity-log on a free port."""
    config = configure_for_tests(
        Config(),
        backing.database_url("activity_log_service"),
        backing.redis_url,
        USER_SERVICE_URL=user_service_url,
        PROJECT_TASK_SERVICE_URL=project_task_url,
        RATELIMIT_USER="100000/minute",
    )
    app = create_app(config)
    with app.app_context():
        upgrade(directory=str(MIGRATIONS))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, name="activity-log", daemon=True).start()
    return ActivityLogService(f"http://127.0.0.1:{server.server_port}", app, server)
