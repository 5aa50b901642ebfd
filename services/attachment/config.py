"""Attachment service settings."""

from services.attachment.sniffing import EXECUTABLE_TYPES
from services.common.config import BaseConfig, env, var_dir

MIB = 1024 * 1024
# Room for the multipart framing around the file, so a file of exactly the limit fits.
MULTIPART_OVERHEAD = 64 * 1024


def type_list(raw: str) -> tuple[str, ...]:
    """A comma-separated list of media types, lower-cased (``-`` for an empty list)."""
    return tuple(part.strip().lower() for part in raw.split(",") if part.strip() not in ("", "-"))


class Config(BaseConfig):
    SERVICE_NAME = "attachment"
    # The common JSON-only body guard also lets uploads through.
    EXTRA_BODY_TYPES = ("multipart/form-data",)

    def __init__(self) -> None:
        super().__init__()
        # How long an answer of project-task's task access endpoint is trusted, per user.
        self.TASK_ACCESS_CACHE_SECONDS = env("TASK_ACCESS_CACHE_SECONDS", 5.0, float)
        self.ATTACHMENT_STORAGE_DIR = env("ATTACHMENT_STORAGE_DIR", str(var_dir() / "uploads"))
        self.MAX_UPLOAD_MB = env("MAX_UPLOAD_MB", 25, int)
        self.MAX_UPLOAD_BYTES = self.MAX_UPLOAD_MB * MIB
        # Werkzeug refuses a body past this before or while reading it; the app refuses a
        # file one byte over MAX_UPLOAD_BYTES while storing it.
        self.MAX_CONTENT_LENGTH = self.MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD
        self.ATTACHMENT_DENY_TYPES = env("ATTACHMENT_DENY_TYPES", EXECUTABLE_TYPES, type_list)
        # Empty: every type not denied is allowed.
        self.ATTACHMENT_ALLOW_TYPES = env("ATTACHMENT_ALLOW_TYPES", (), type_list)
        # What one project's files may take up: every distinct content its versions hold,
        # counted once.
        self.PROJECT_STORAGE_QUOTA_MB = env("PROJECT_STORAGE_QUOTA_MB", 1024, int)
        self.PROJECT_STORAGE_QUOTA_BYTES = self.PROJECT_STORAGE_QUOTA_MB * MIB
        # Share links: the bounds of expires_in (seconds), and the downloads per link.
        self.SHARE_LINK_MIN_EXPIRY_SECONDS = env("SHARE_LINK_MIN_EXPIRY_SECONDS", 60, int)
        self.SHARE_LINK_MAX_EXPIRY_SECONDS = env(
            "SHARE_LINK_MAX_EXPIRY_SECONDS", 30 * 24 * 3600, int
        )
        self.SHARE_LINK_RATE_LIMIT = env("SHARE_LINK_RATE_LIMIT", "30/minute")
