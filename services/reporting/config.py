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
        # Per user: requested reports pending or running at once (429 beyond), and schedules.
        self.REPORTS_MAX_ACTIVE_PER_USER = env("REPORTS_MAX_ACTIVE_PER_USER", 3, int)
        self.REPORT_SCHEDULES_MAX_PER_USER = env("REPORT_SCHEDULES_MAX_PER_USER", 20, int)
        # Quick views are cached per user (and project) this long; 0 turns the cache off.
        self.QUICK_CACHE_SECONDS = env("QUICK_CACHE_SECONDS", 30.0, float)
        # Cache-Control: no-cache recomputes only an answer at least this old.
        self.QUICK_REFRESH_SECONDS = env("QUICK_REFRESH_SECONDS", 5.0, float)
        # A request waits this long for the answer another request is computing.
        self.QUICK_WAIT_SECONDS = env("QUICK_WAIT_SECONDS", 10.0, float)
        self.PDF_MAX_TABLE_ROWS = env("PDF_MAX_TABLE_ROWS", 2000, int)
