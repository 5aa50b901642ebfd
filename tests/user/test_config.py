"""The user service's provider settings: names, per-name settings, secrets from files."""

from __future__ import annotations

import pytest

from services.common.config import ConfigError
from services.user.config import oidc_providers


def test_providers_are_read_per_name_with_the_secret_from_a_file(monkeypatch, tmp_path):
    secret = tmp_path / "corp_secret"
    secret.write_text("s3cret\n")
    monkeypatch.setenv("OIDC_PROVIDERS", "corp, Google-Workspace")
    monkeypatch.setenv("OIDC_CORP_ISSUER", "https://sso.example.com/realms/corp/")
    monkeypatch.setenv("OIDC_CORP_CLIENT_ID", "platform")
    monkeypatch.setenv("OIDC_CORP_CLIENT_SECRET_FILE", str(secret))
    monkeypatch.setenv("OIDC_GOOGLE_WORKSPACE_ISSUER", "https://accounts.google.com")
    monkeypatch.setenv("OIDC_GOOGLE_WORKSPACE_CLIENT_ID", "id")
    monkeypatch.setenv("OIDC_GOOGLE_WORKSPACE_CLIENT_SECRET", "other")
    monkeypatch.setenv("OIDC_GOOGLE_WORKSPACE_SCOPES", "openid email")
    providers = oidc_providers()
    assert list(providers) == ["corp", "google-workspace"]
    corp = providers["corp"]
    assert corp.issuer == "https://sso.example.com/realms/corp"
    assert corp.client_secret == "s3cret" and corp.scopes == "openid email profile"
    assert providers["google-workspace"].scopes == "openid email"


def test_a_provider_missing_a_setting_or_badly_named_stops_start_up(monkeypatch):
    monkeypatch.setenv("OIDC_PROVIDERS", "corp")
    monkeypatch.setenv("OIDC_CORP_ISSUER", "https://sso.example.com")
    monkeypatch.delenv("OIDC_CORP_CLIENT_ID", raising=False)
    with pytest.raises(ConfigError, match="OIDC_CORP_CLIENT_ID"):
        oidc_providers()
    monkeypatch.setenv("OIDC_PROVIDERS", "no/slashes")
    with pytest.raises(ConfigError, match="OIDC_PROVIDERS"):
        oidc_providers()
    monkeypatch.setenv("OIDC_PROVIDERS", "")
    assert oidc_providers() == {}
