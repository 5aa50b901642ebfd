"""A real project-task service, served from a thread of the test process, for tests of
the services that ask it about tasks over HTTP (comment, attachment, reporting):
projects, members, tasks and time entries are made through its public API, as a client
would."""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass
from typing import Any

import requests
from flask_migrate import upgrade
from werkzeug.serving import make_server

from services.common.testing import configure_for_tests
from services.project_task import MIGRATIONS, create_app
from services.project_task.config import Config

_names = itertools.count(1)


@dataclass
class ProjectTaskService:
    url: str
    app: Any
    _server: Any

    def _call(self, method: str, path: str, account: Any, expected: int, **kwargs) -> Any:
        response = requests.request(
            method, f"{self.url}{path}", headers=account.headers, timeout=10, **kwargs
        )
        assert response.status_code == expected, response.text
        return response.json() if response.content else None

    def project(self, owner: Any, **fields: Any) -> dict:
        """A new project owned by ``owner``."""
        body = {"name": f"Project {next(_names)}", **fields}
        return self._call("POST", "/api/projects", owner, 201, json=body)

    def add_member(self, project: dict, user: Any, role: str, by: Any) -> dict:
        """Make ``user`` a member of the project in ``role`` (``by`` is an admin of it)."""
        body = {"user_id": user.id, "role": role}
        return self._call("POST", f"/api/projects/{project['id']}/members", by, 201, json=body)

    def task(self, project: dict, by: Any, **fields: Any) -> dict:
        """A new task in the project, reported by ``by``."""
        body = {"title": f"Task {next(_names)}", **fields}
        return self._call("POST", f"/api/projects/{project['id']}/tasks", by, 201, json=body)

    def time_entry(self, task: dict, by: Any, **fields: Any) -> dict:
        """Time ``by`` logged on the task (``spent_on`` and ``minutes`` at least)."""
        path = f"/api/tasks/{task['id']}/time-entries"
        return self._call("POST", path, by, 201, json=fields)

    def workspace(self, owner: Any, **fields: Any) -> dict:
        """A new workspace owned by ``owner``."""
        body = {"name": f"Workspace {next(_names)}", **fields}
        return self._call("POST", "/api/workspaces", owner, 201, json=body)

    def add_workspace_member(self, workspace: dict, user: Any, role: str, by: Any) -> dict:
        body = {"user_id": user.id, "role": role}
        path = f"/api/workspaces/{workspace['id']}/members"
        return self._call("POST", path, by, 201, json=body)

    def update_project(self, project: dict, by: Any, **fields: Any) -> dict:
        """PATCH the project (a move into a workspace: ``workspace_id``, ``visibility``)."""
        return self._call("PATCH", f"/api/projects/{project['id']}", by, 200, json=fields)

    def delete_task(self, task: dict, by: Any) -> None:
        self._call("DELETE", f"/api/tasks/{task['id']}", by, 204)

    def delete_project(self, project: dict, by: Any) -> None:
        self._call("DELETE", f"/api/projects/{project['id']}", by, 204)

    def close(self) -> None:
        self._server.shutdown()


def start_project_task_service(backing: Any, user_service_url: str) -> ProjectTaskService:
    """Migrate a fresh database and serve project-task on a free port."""
    config = configure_for_tests(
        Config(),
        backing.database_url("project_task_service"),
        backing.redis_url,
        USER_SERVICE_URL=user_service_url,
        RATELIMIT_USER="100000/minute",
    )
    app = create_app(config)
    with app.app_context():
        upgrade(directory=str(MIGRATIONS))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, name="project-task", daemon=True).start()
    return ProjectTaskService(f"http://127.0.0.1:{server.server_port}", app, server)
