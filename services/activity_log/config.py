"""Activity-log service settings."""

from services.common.config import BaseConfig, env


class Config(BaseConfig):
    SERVICE_NAME = "activity-log"

    def __init__(self) -> None:
        super().__init__()
        self.LOG_RETENTION_DAYS = env("LOG_RETENTION_DAYS", 90, int)
        self.LOG_RETENTION_BATCH_SIZE = env("LOG_RETENTION_BATCH_SIZE", 1000, int)
