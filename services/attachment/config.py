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
