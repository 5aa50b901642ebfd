"""Configuration from the environment: NAME_FILE first, fail fast on missing values."""

from __future__ import annotations

import pytest

from services.common.config import BaseConfig, ConfigError, database_url, env


def test_file_variable_wins_over_plain_variable(tmp_path, monkeypatch):
    secret = tmp_path / "secret"
    secret.write_text("from-file\n")
    monkeypatch.setenv("SOME_SECRET", "from-env")
    monkeypatch.setenv("SOME_SECRET_FILE", str(secret))
    assert env("SOME_SECRET") == "from-file"


def test_missing_required_value_names_it(monkeypatch):
    monkeypatch.delenv("SERVICE_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="SERVICE_TOKEN is required"):
        BaseConfig()


def test_unreadable_file_and_bad_cast_fail_fast(tmp_path, monkeypatch):
    monkeypatch.setenv("SOME_SECRET_FILE", str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="unreadable"):
        env("SOME_SECRET")
    monkeypatch.setenv("A_NUMBER", "ten")
    with pytest.raises(ConfigError, match="A_NUMBER has an invalid value"):
        env("A_NUMBER", 1, int)


def test_defaults_apply_only_when_unset(monkeypatch):
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    assert env("NOT_SET_ANYWHERE", 5, int) == 5
    monkeypatch.setenv("NOT_SET_ANYWHERE", "7")
    assert env("NOT_SET_ANYWHERE", 5, int) == 7


def test_postgres_urls_use_psycopg2():
    assert database_url("postgresql://u@h/db") == "postgresql+psycopg2://u@h/db"
    assert database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_trusted_proxies_are_addresses_or_networks():
    from services.common.proxies import parse_trusted_proxies

    assert [str(n) for n in parse_trusted_proxies("127.0.0.1, ::1,10.42.0.0/24")] == [
        "127.0.0.1/32",
        "::1/128",
        "10.42.0.0/24",
    ]
    for wrong in ("*", "10.42.0.1/24", "nginx"):
        with pytest.raises(ConfigError, match="TRUSTED_PROXIES has an invalid entry"):
            parse_trusted_proxies(wrong)


GOOD_SECRET = "Zq3hV9xT2mLr8KpW4sYc7NbF1dGj6HuA0eXoQiRlPvM"  # 43 characters, as token_urlsafe(32)


@pytest.mark.parametrize(
    "value",
    [
        "CHANGE_ME",
        "changeme-please-changeme-please-changeme-please",
        "generate-with-scripts-run",
        "Xk2" + "CHANGE-ME" + GOOD_SECRET,
        "test-jwt-secret-key-that-is-long-enough-for-hs256",
        GOOD_SECRET[:42],
        "0123456789abcdef" * 3,  # 48 hex digits: 24 bytes
        "a" * 64,
        "ab" * 40,
    ],
)
def test_production_refuses_a_weak_secret_naming_it(monkeypatch, value):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SERVICE_TOKEN", value)
    with pytest.raises(ConfigError, match="SERVICE_TOKEN is too weak for APP_ENV=production"):
        BaseConfig()


@pytest.mark.parametrize(
    "value", [GOOD_SECRET, "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"]
)
def test_production_accepts_32_random_bytes(monkeypatch, value):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SERVICE_TOKEN", value)
    config = BaseConfig()
    assert value == config.SERVICE_TOKEN


def test_development_keeps_any_secret_and_app_env_is_checked(monkeypatch):
    monkeypatch.setenv("SERVICE_TOKEN", "CHANGE_ME")
    monkeypatch.delenv("APP_ENV", raising=False)
    assert BaseConfig().APP_ENV == "development"
    monkeypatch.setenv("APP_ENV", "Development")
    assert BaseConfig().SERVICE_TOKEN == "CHANGE_ME"
    monkeypatch.setenv("APP_ENV", "prod")
    with pytest.raises(ConfigError, match="APP_ENV must be one of development, production"):
        BaseConfig()
