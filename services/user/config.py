"""User service settings."""

from services.common.config import BaseConfig, env, secret


class Config(BaseConfig):
    SERVICE_NAME = "user"

    def __init__(self) -> None:
        super().__init__()
        self.JWT_SECRET_KEY = secret("JWT_SECRET_KEY")
        self.JWT_ACCESS_TOKEN_EXPIRES = env("ACCESS_TOKEN_TTL_SECONDS", 900, int)
        self.JWT_REFRESH_TOKEN_EXPIRES = env("REFRESH_TOKEN_TTL_SECONDS", 30 * 24 * 3600, int)
        self.JWT_ALGORITHM = "HS256"
        self.LOGIN_MAX_FAILURES = env("LOGIN_MAX_FAILURES", 5, int)
        self.LOGIN_LOCKOUT_SECONDS = env("LOGIN_LOCKOUT_SECONDS", 900, int)
        self.PASSWORD_RESET_TTL_SECONDS = env("PASSWORD_RESET_TTL_SECONDS", 3600, int)
