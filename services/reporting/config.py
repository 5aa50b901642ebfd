"""Reporting service settings."""

from services.common.config import BaseConfig, env, var_dir


class Config(BaseConfig):
    SERVICE_NAME = "reporting"

    def __init__(self) -> None:
        super().__init__()
        # Aggregates over a big project take longer than an access check.
        self.REPORT_SOURCE_TIMEOUT = env("REPORT_SOURCE_TIMEOUT", 60.0, float)
        self.REPORT_STORAGE_DIR = env("REPORT_STORAGE_DIR", str(var_dir() / "reports"))
        self.REPORT_TTL_DAYS = env("REPORT_TTL_DAYS", 7, int)
        # A pending report older than this is enqueued again (the broker may have been down).
        self.REPORT_REQUEUE_AFTER_SECONDS = env("REPORT_REQUEUE_AFTER_SECONDS", 60, int)
        # A running report older than this lost its worker and is run again.
        self.REPORT_RUNNING_TIMEOUT_SECONDS = env("REPORT_RUNNING_TIMEOUT_SECONDS", 600, int)
        # Quick views are cached per user (and project) this long; 0 turns the cache off.
        self.QUICK_CACHE_SECONDS = env("QUICK_CACHE_SECONDS", 30.0, float)
        self.PDF_MAX_TABLE_ROWS = env("PDF_MAX_TABLE_ROWS", 2000, int)
