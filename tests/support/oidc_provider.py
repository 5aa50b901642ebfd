"""A real OpenID Connect provider for tests: ``oidc-provider-mock`` (pinned in the dev
dependencies) run as its own process on loopback. It signs ID tokens with RS256, serves
discovery and a JWKS, and lets a test set a subject's claims (``PUT /users/<sub>``) and
sign in as it by posting its authorization form (``sub=...``)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from scripts.toolkit.processes import Process, free_port

CLIENT_ID = "task-platform"
CLIENT_SECRET = "provider-test-secret"


@dataclass
class OidcProvider:
    issuer: str
    process: Process

    def settings(self, name: str = "mock") -> dict[str, str]:
        """What the user service needs to offer sign-in with this provider as ``name``."""
        prefix = f"OIDC_{name.upper()}_"
        return {
            "OIDC_PROVIDERS": name,
            prefix + "ISSUER": self.issuer,
            prefix + "CLIENT_ID": CLIENT_ID,
            prefix + "CLIENT_SECRET": CLIENT_SECRET,
        }

    def person(self, sub: str, **claims: Any) -> None:
        """Who signs in as ``sub``: their claims (``email``, ``email_verified``, ...)."""
        response = requests.put(f"{self.issuer}/users/{sub}", json=claims, timeout=10)
        assert response.status_code == 204, response.text

    def authorize(self, authorization_url: str, sub: str) -> str:
        """Sign in at the provider as ``sub``: the URL it sends the browser back to."""
        response = requests.post(
            authorization_url, data={"sub": sub}, allow_redirects=False, timeout=10
        )
        assert response.status_code == 302, response.text
        return response.headers["Location"]

    def close(self) -> None:
        self.process.stop()


def start_oidc_provider(log_dir: Path) -> OidcProvider:
    port = free_port()
    command = [sys.executable, "-m", "oidc_provider_mock", "--port", str(port), "--require-nonce"]
    process = Process("oidc-provider", command, None, log_dir / "oidc-provider.log", port)
    process.start(wait_path="/.well-known/openid-configuration")
    return OidcProvider(f"http://127.0.0.1:{port}", process)
