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
        # An e-mail the SMTP server refuses (5xx) is tried this many more times.
        self.EMAIL_MAX_RETRIES = env("EMAIL_MAX_RETRIES", 5, int)
        self.EMAIL_RETRY_BASE_SECONDS = env("EMAIL_RETRY_BASE_SECONDS", 10.0, float)
        # While the SMTP server is away (or says "try later"): a try at least this often,
        # until the e-mail is EMAIL_GIVE_UP_AFTER_SECONDS old (5 days, like an MTA).
        self.EMAIL_RETRY_MAX_SECONDS = env("EMAIL_RETRY_MAX_SECONDS", 300.0, float)
        self.EMAIL_GIVE_UP_AFTER_SECONDS = env("EMAIL_GIVE_UP_AFTER_SECONDS", 432000, int)
        self.WEBHOOK_ALLOW_PRIVATE = env("WEBHOOK_ALLOW_PRIVATE", False, as_bool)
        self.WEBHOOK_TIMEOUT = env("WEBHOOK_TIMEOUT", 5.0, float)
        self.WEBHOOK_RETRY_BASE_SECONDS = env("WEBHOOK_RETRY_BASE_SECONDS", 30.0, float)
        self.WEBHOOK_MAX_ATTEMPTS = env("WEBHOOK_MAX_ATTEMPTS", 6, int)
        self.WEBHOOK_MAX_FAILURES = env("WEBHOOK_MAX_FAILURES", 5, int)
        # Each event goes to every webhook entitled to it: a user may register this many.
        self.WEBHOOKS_MAX_PER_USER = env("WEBHOOKS_MAX_PER_USER", 20, int)
        self.DUE_SOON_HOURS = env("DUE_SOON_HOURS", 24, int)
        # A project's members are cached this long: a removal reaches every channel within it.
        self.MEMBERSHIP_CACHE_SECONDS = env("MEMBERSHIP_CACHE_SECONDS", 5.0, float)
        self.TOKEN_EXPIRY_WARNING_HOURS = env("TOKEN_EXPIRY_WARNING_HOURS", 72, int)
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
