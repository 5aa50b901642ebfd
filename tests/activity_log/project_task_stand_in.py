"""A stand-in for the one project-task endpoint the activity log calls, served from a
thread of the test process: ``GET /internal/users/<user_id>/projects`` answers from
``memberships`` (filled in by tests), counts its calls, and can be told to fail."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from flask import Flask, abort, request
from werkzeug.serving import make_server


@dataclass
class ProjectTaskStandIn:
    service_token: str
    url: str = ""
    memberships: dict[int, dict[int, str]] = field(default_factory=dict)
    calls: list[dict[str, str]] = field(default_factory=list)
    failing: bool = False

    def add_member(self, user_id: int, project_id: int, role: str = "member") -> None:
        self.memberships.setdefault(user_id, {})[project_id] = role

    def reset(self) -> None:
        self.memberships.clear()
        self.calls.clear()
        self.failing = False

    def app(self) -> Flask:
        app = Flask("project-task-stand-in")

        @app.get("/internal/users/<int:user_id>/projects")
        def user_projects(user_id: int):
            self.calls.append(dict(request.headers))
            if request.headers.get("X-Service-Token") != self.service_token:
                abort(403)
            if self.failing:
                abort(500)
            projects = self.memberships.get(user_id, {})
            return {
                "items": [
                    {"project_id": project_id, "role": role}
                    for project_id, role in sorted(projects.items())
                ]
            }

        return app


def start_project_task_stand_in(service_token: str) -> tuple[ProjectTaskStandIn, object]:
    """The stand-in on a free loopback port, and its server (to shut down)."""
    stand_in = ProjectTaskStandIn(service_token)
    server = make_server("127.0.0.1", 0, stand_in.app(), threaded=True)
    threading.Thread(target=server.serve_forever, name="project-task-stand-in", daemon=True).start()
    stand_in.url = f"http://127.0.0.1:{server.server_port}"
    return stand_in, server
