"""Comment service settings."""

from services.common.config import BaseConfig, env


class Config(BaseConfig):
    SERVICE_NAME = "comment"

    def __init__(self) -> None:
        super().__init__()
        # How long an answer of project-task's task access endpoint is trusted, per user.
        self.TASK_ACCESS_CACHE_SECONDS = env("TASK_ACCESS_CACHE_SECONDS", 5.0, float)
        # How long an author's public profile (username, full name) is reused.
        self.USER_PROFILE_CACHE_SECONDS = env("USER_PROFILE_CACHE_SECONDS", 30.0, float)
