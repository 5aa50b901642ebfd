"""Notification service settings."""

from services.common.config import BaseConfig, as_bool, env


class Config(BaseConfig):
    SERVICE_NAME = "notification"

    def __init__(self) -> None:
        super().__init__()
        self.APP_URL = env("APP_URL", "http://localhost:8080").rstrip("/")
        self.MAIL_SERVER = env("MAIL_SERVER", "127.0.0.1")
        self.MAIL_PORT = env("MAIL_PORT", 8025, int)
        self.MAIL_USE_TLS = env("MAIL_USE_TLS", False, as_bool)
        self.MAIL_USERNAME = env("MAIL_USERNAME", None)
        self.MAIL_PASSWORD = env("MAIL_PASSWORD", None)
        self.MAIL_DEFAULT_SENDER = env("MAIL_DEFAULT_SENDER", "Task platform <no-reply@localhost>")
        self.MAIL_TIMEOUT = env("MAIL_TIMEOUT", 10.0, float)
        self.EMAIL_MAX_RETRIES = env("EMAIL_MAX_RETRIES", 5, int)
        self.EMAIL_RETRY_BASE_SECONDS = env("EMAIL_RETRY_BASE_SECONDS", 10.0, float)
        self.WEBHOOK_ALLOW_PRIVATE = env("WEBHOOK_ALLOW_PRIVATE", False, as_bool)
        self.WEBHOOK_TIMEOUT = env("WEBHOOK_TIMEOUT", 5.0, float)
        self.WEBHOOK_RETRY_BASE_SECONDS = env("WEBHOOK_RETRY_BASE_SECONDS", 30.0, float)
        self.WEBHOOK_MAX_ATTEMPTS = env("WEBHOOK_MAX_ATTEMPTS", 6, int)
        self.WEBHOOK_MAX_FAILURES = env("WEBHOOK_MAX_FAILURES", 5, int)
        self.DUE_SOON_HOURS = env("DUE_SOON_HOURS", 24, int)
        self.REDISPATCH_AFTER_SECONDS = env("REDISPATCH_AFTER_SECONDS", 900, int)
        # The live stream (services.notification.stream).
        self.STREAM_MAX_PER_USER = env("STREAM_MAX_PER_USER", 5, int)
        self.STREAM_HEARTBEAT_SECONDS = env("STREAM_HEARTBEAT_SECONDS", 15.0, float)
        self.STREAM_TICKET_SECONDS = env("STREAM_TICKET_SECONDS", 60, int)
        self.STREAM_BUFFER_EVENTS = env("STREAM_BUFFER_EVENTS", 500, int)


class StreamConfig(Config):
    """The stream process: the notification service's settings, its own name in logs and
    metrics, and no API document of its own (the notification service serves it)."""

    SERVICE_NAME = "notification-stream"

    def __init__(self) -> None:
        super().__init__()
        self.OPENAPI_URL_PREFIX = None
