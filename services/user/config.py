"""User service settings."""

from __future__ import annotations

import re
from dataclasses import dataclass

from services.common.config import BaseConfig, ConfigError, as_bool, env, secret

PROVIDER_NAME = re.compile(r"^[a-z][a-z0-9-]{0,31}$")


@dataclass(frozen=True)
class OidcProvider:
    """An OpenID Connect provider people may sign in with."""

    name: str
    issuer: str
    client_id: str
    client_secret: str
    scopes: str


def oidc_providers() -> dict[str, OidcProvider]:
    """``OIDC_PROVIDERS=name1,name2`` and, per name, ``OIDC_<NAME>_ISSUER``,
    ``_CLIENT_ID``, ``_CLIENT_SECRET`` (each also as ``_FILE``) and ``_SCOPES``."""
    providers: dict[str, OidcProvider] = {}
    for name in [n.strip().lower() for n in env("OIDC_PROVIDERS", "").split(",") if n.strip()]:
        if not PROVIDER_NAME.match(name):
            raise ConfigError(f"OIDC_PROVIDERS: {name!r} is not a name like 'google' or 'corp-sso'")
        prefix = f"OIDC_{name.upper().replace('-', '_')}_"
        providers[name] = OidcProvider(
            name=name,
            issuer=env(prefix + "ISSUER").rstrip("/"),
            client_id=env(prefix + "CLIENT_ID"),
            client_secret=env(prefix + "CLIENT_SECRET"),
            scopes=env(prefix + "SCOPES", "openid email profile"),
        )
    return providers


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
        # Key of the HMAC that stores personal access tokens and recovery codes; unset,
        # it is derived from JWT_SECRET_KEY (so rotating that key voids them too).
        self.TOKEN_HASH_KEY = env("TOKEN_HASH_KEY", None)
        self.PAT_MAX_DAYS = env("PAT_MAX_DAYS", 365, int)
        self.PAT_DEFAULT_DAYS = env("PAT_DEFAULT_DAYS", 90, int)
        self.PAT_MAX_PER_USER = env("PAT_MAX_PER_USER", 50, int)
        self.LAST_USED_RESOLUTION_SECONDS = env("LAST_USED_RESOLUTION_SECONDS", 300, int)
        self.REQUIRE_2FA_FOR_ADMINS = env("REQUIRE_2FA_FOR_ADMINS", False, as_bool)
        self.TOTP_ISSUER = env("TOTP_ISSUER", "Task platform")
        self.OTP_CHALLENGE_TTL_SECONDS = env("OTP_CHALLENGE_TTL_SECONDS", 300, int)
        # Where people reach the platform: the providers send them back to
        # APP_URL/api/auth/oidc/<name>/callback.
        self.APP_URL = env("APP_URL", "http://localhost:8080").rstrip("/")
        self.OIDC_PROVIDERS = oidc_providers()
        self.OIDC_FLOW_TTL_SECONDS = env("OIDC_FLOW_TTL_SECONDS", 600, int)
        self.OIDC_HTTP_TIMEOUT = env("OIDC_HTTP_TIMEOUT", 5.0, float)
        self.OIDC_METADATA_CACHE_SECONDS = env("OIDC_METADATA_CACHE_SECONDS", 3600, int)
