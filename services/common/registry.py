"""The seven services: name, port, Celery queue, and how each is reached from another
process.

nginx reaches them through ``nginx/upstreams.conf``; services reach each other through
``<NAME>_SERVICE_URL`` (default ``http://127.0.0.1:<port>``). A test checks the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.common.config import env


@dataclass(frozen=True)
class ServiceInfo:
    name: str
    port: int
    health_slug: str
    queue: str

    @property
    def env_prefix(self) -> str:
        return self.name.upper().replace("-", "_")

    @property
    def package(self) -> str:
        return self.name.replace("-", "_")

    def url(self) -> str:
        """Base URL of this service as seen from another process."""
        return env(f"{self.env_prefix}_SERVICE_URL", f"http://127.0.0.1:{self.port}").rstrip("/")


SERVICES: dict[str, ServiceInfo] = {
    info.name: info
    for info in (
        ServiceInfo("user", 5001, "user", "user"),
        ServiceInfo("project-task", 5002, "projects", "project_task"),
        ServiceInfo("comment", 5003, "comments", "comment"),
        ServiceInfo("attachment", 5004, "attachments", "attachment"),
        ServiceInfo("notification", 5005, "notifications", "notification"),
        ServiceInfo("activity-log", 5006, "activity", "activity"),
        ServiceInfo("reporting", 5007, "reports", "reporting"),
    )
}
