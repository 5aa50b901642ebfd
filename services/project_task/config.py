"""Project-task service settings."""

from services.common.config import BaseConfig


class Config(BaseConfig):
    SERVICE_NAME = "project-task"
