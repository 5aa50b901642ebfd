"""Configuration from the environment.

Every value is read with :func:`env`, which looks at ``NAME_FILE`` (a path whose
contents are the value, as Docker secrets provide) before ``NAME``. A value with no
default is required: a missing one stops start-up with :class:`ConfigError` naming it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]

_REQUIRED: Any = object()


class ConfigError(RuntimeError):
    """A required setting is missing or malformed."""


def env(name: str, default: Any = _REQUIRED, cast: Callable[[str], Any] = str) -> Any:
    """Return setting ``name`` from ``NAME_FILE`` or ``NAME``; raise if required and unset."""
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        try:
            raw = Path(file_path).read_text().strip()
        except OSError as exc:
            raise ConfigError(f"{name}_FILE points to an unreadable file: {exc}") from exc
    else:
        raw = os.environ.get(name)
    if raw is None or raw == "":
        if default is _REQUIRED:
            raise ConfigError(f"{name} is required (set {name} or {name}_FILE)")
        return default
    try:
        return cast(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} has an invalid value: {exc}") from exc


def as_bool(raw: str) -> bool:
    """Parse the usual spellings of a boolean setting."""
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"not a boolean: {raw!r}")


def var_dir() -> Path:
    """Directory for local state (SQLite files, uploads, pid files) in the embedded mode."""
    return Path(env("VAR_DIR", str(REPO_ROOT / "var")))


class BaseConfig:
    """Settings every service has. Subclasses set ``SERVICE_NAME`` and add their own."""

    SERVICE_NAME = "service"
    API_VERSION = "1.0"
    OPENAPI_VERSION = "3.0.3"
    JSON_BODY_LIMIT = 1024 * 1024

    def __init__(self) -> None:
        name = self.SERVICE_NAME
        self.API_TITLE = f"{name} service"
        self.SERVICE_TOKEN = env("SERVICE_TOKEN")
        default_db = f"sqlite:///{var_dir() / (name.replace('-', '_') + '.db')}"
        self.SQLALCHEMY_DATABASE_URI = database_url(env("DATABASE_URL", default_db))
        self.SQLALCHEMY_ENGINE_OPTIONS = engine_options(self.SQLALCHEMY_DATABASE_URI)
        self.REDIS_URL = env("REDIS_URL", "redis://127.0.0.1:6379/0")
        self.AUTH_CACHE_TTL = env("AUTH_CACHE_TTL", 60.0, float)
        self.AUTH_STALE_TTL = env("AUTH_STALE_TTL", 60.0, float)
        self.AUTH_VERIFY_TIMEOUT = env("AUTH_VERIFY_TIMEOUT", 2.0, float)
        self.HTTP_TIMEOUT = env("HTTP_TIMEOUT", 3.0, float)
        self.MEMBERSHIP_CACHE_SECONDS = env("MEMBERSHIP_CACHE_SECONDS", 5.0, float)
        # The live-update log every relayed event is appended to (services.common.live_log).
        self.STREAM_REPLAY_SECONDS = env("STREAM_REPLAY_SECONDS", 86400, int)
        self.STREAM_REPLAY_EVENTS = env("STREAM_REPLAY_EVENTS", 10000, int)
        self.RATELIMIT_USER = env("RATELIMIT_USER", "1200/minute")
        self.RATELIMIT_AUTH = env("RATELIMIT_AUTH", "20/minute")
        self.RATELIMIT_STORAGE_URI = env("RATELIMIT_STORAGE_URI", self.REDIS_URL)
        self.MAX_CONTENT_LENGTH = env("MAX_JSON_BODY_BYTES", self.JSON_BODY_LIMIT, int)
        self.LOG_LEVEL = env("LOG_LEVEL", "INFO")
        self.OPENAPI_URL_PREFIX = f"/api/docs/{name}"
        self.OPENAPI_JSON_PATH = "openapi.json"


def database_url(url: str) -> str:
    """Use psycopg2 for ``postgresql://`` URLs (SQLAlchemy 2.1 would pick psycopg 3)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix) :]
    return url


def engine_options(url: str) -> dict[str, Any]:
    """Pool settings that fail fast when the database is away instead of hanging."""
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 15}}
    return {
        "pool_pre_ping": True,
        "pool_size": env("DB_POOL_SIZE", 10, int),
        "max_overflow": env("DB_MAX_OVERFLOW", 10, int),
        "pool_timeout": 5,
        "pool_recycle": 1800,
        "connect_args": {"connect_timeout": 2},
    }
