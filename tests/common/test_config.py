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
