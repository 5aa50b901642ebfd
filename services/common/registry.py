"""The seven services: name, port, Celery queue, and how each is reached from another
process.

nginx reaches them through ``nginx/upstreams.conf``; services reach each other through
``<NAME>_SERVICE_URL`` (default ``http://127.0.0.1:<port>``), resolved here by
:func:`service_url` and nowhere else. A test checks the two agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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

    @property
    def url_setting(self) -> str:
        """The setting holding this service's base URL: ``<NAME>_SERVICE_URL``."""
        return f"{self.env_prefix}_SERVICE_URL"

    def url(self) -> str:
        """Base URL of this service as seen from another process."""
        return env(self.url_setting, f"http://127.0.0.1:{self.port}").rstrip("/")


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


def service_url(name: str, settings: Mapping[str, Any] | None = None) -> str:
    """Base URL of service ``name``: the app's own ``<NAME>_SERVICE_URL`` setting when it
    has one (tests point an app at a stand-in that way), else :meth:`ServiceInfo.url`."""
    info = SERVICES[name]
    configured = settings.get(info.url_setting) if settings is not None else None
    return configured.rstrip("/") if configured else info.url()
