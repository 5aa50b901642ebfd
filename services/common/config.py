"""Configuration from the environment.

Every value is read with :func:`env`, which looks at ``NAME_FILE`` (a path whose
contents are the value, as Docker secrets provide) before ``NAME``. A value with no
default is required: a missing one stops start-up with :class:`ConfigError` naming it.

``APP_ENV`` says how the platform runs: ``development`` (the default: ``scripts/run``,
the tests) or ``production`` (the image's compose stack sets it). In production a
secret read with :func:`secret` must look like 32 random bytes: not a placeholder, and
at least 43 characters (base64 of 32 bytes) or 64 hex digits; otherwise start-up stops
naming the variable.
"""

from __future__ import annotations

import os
import re
import string
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]

_REQUIRED: Any = object()
# Peers whose forwarding headers count (services.common.proxies): loopback, for local runs.
DEFAULT_TRUSTED_PROXIES = "127.0.0.1,::1"
# The largest JSON document a service handles, besides MAX_JSON_BODY_BYTES: how deep its
# containers nest and how many values it holds in all (services.common.app).
DEFAULT_MAX_JSON_DEPTH = 32
DEFAULT_MAX_JSON_VALUES = 10_000


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


APP_ENVS = ("development", "production")
# A secret with one of these in it (compared in lower case, letters and digits only) is
# a value from a template or an example, never a generated one.
PLACEHOLDER_MARKERS = (
    "changeme",
    "replaceme",
    "placeholder",
    "example",
    "generatewithscriptsrun",
    "secret",
    "password",
)
MIN_SECRET_CHARS = 43  # 32 random bytes in base64
MIN_HEX_SECRET_CHARS = 64  # 32 random bytes in hex
MIN_SECRET_DISTINCT_CHARS = 10


def app_env() -> str:
    """``APP_ENV``: ``development`` (default) or ``production``."""
    value = env("APP_ENV", "development").strip().lower()
    if value not in APP_ENVS:
        raise ConfigError(f"APP_ENV must be one of {', '.join(APP_ENVS)}, not {value!r}")
    return value


def weak_secret(value: str) -> str | None:
    """Why ``value`` cannot be a production secret, or None when it can."""
    letters = re.sub(r"[^a-z0-9]", "", value.lower())
    if any(marker in letters for marker in PLACEHOLDER_MARKERS):
        return "it is a placeholder"
    hex_only = all(char in string.hexdigits for char in value)
    needed = MIN_HEX_SECRET_CHARS if hex_only else MIN_SECRET_CHARS
    if len(value) < needed:
        return f"it has {len(value)} characters, fewer than the {needed} of 32 random bytes"
    if len(set(value)) < MIN_SECRET_DISTINCT_CHARS:
        return "it repeats too few characters to be random"
    return None


def secret(name: str) -> str:
    """Required secret ``name``; in production it must pass :func:`weak_secret`."""
    value = env(name)
    if app_env() == "production":
        reason = weak_secret(value)
        if reason:
            raise ConfigError(
                f"{name} is too weak for APP_ENV=production ({reason}): use 32 random bytes, "
                "e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))' "
                "(deploy/make-secrets writes such files)"
            )
    return value


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
        self.APP_ENV = app_env()
        self.SERVICE_TOKEN = secret("SERVICE_TOKEN")
        default_db = f"sqlite:///{var_dir() / (name.replace('-', '_') + '.db')}"
        self.SQLALCHEMY_DATABASE_URI = database_url(env("DATABASE_URL", default_db))
        self.SQLALCHEMY_ENGINE_OPTIONS = engine_options(self.SQLALCHEMY_DATABASE_URI)
        self.REDIS_URL = env("REDIS_URL", "redis://127.0.0.1:6379/0")
        self.TRUSTED_PROXIES = env("TRUSTED_PROXIES", DEFAULT_TRUSTED_PROXIES)
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
        self.RATELIMIT_REJECTED_TOKENS = env("RATELIMIT_REJECTED_TOKENS", "30/minute")
        self.RATELIMIT_STORAGE_URI = env("RATELIMIT_STORAGE_URI", self.REDIS_URL)
        self.MAX_CONTENT_LENGTH = env("MAX_JSON_BODY_BYTES", self.JSON_BODY_LIMIT, int)
        self.MAX_JSON_DEPTH = env("MAX_JSON_DEPTH", DEFAULT_MAX_JSON_DEPTH, int)
        self.MAX_JSON_VALUES = env("MAX_JSON_VALUES", DEFAULT_MAX_JSON_VALUES, int)
        self.LOG_LEVEL = env("LOG_LEVEL", "INFO")
        self.OUTBOX_SWEEP_SECONDS = env("OUTBOX_SWEEP_SECONDS", 5.0, float)
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
