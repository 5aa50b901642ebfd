"""End-to-end fixtures: the whole built platform as real processes behind real nginx."""

from __future__ import annotations

import random

import pytest

from tests.support.api import PASSWORD, Account, ApiClient
from tests.support.platform import Platform, boot_platform

# Production-like settings, with limits low enough to be provoked by a test.
E2E_SETTINGS = {
    "RATELIMIT_AUTH": "10/minute",
    "RATELIMIT_USER": "600/minute",
}


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def platform(backing, tmp_path_factory) -> Platform:
    platform = boot_platform(backing, tmp_path_factory.mktemp("platform"), E2E_SETTINGS)
    yield platform
    platform.close()


@pytest.fixture
def api(platform) -> ApiClient:
    return ApiClient(platform.url)


@pytest.fixture
def admin(platform, api) -> Account:
    """A global admin made with the documented create-admin command."""
    username = f"admin{random.randint(100000, 999999)}"
    result = platform.run_cli(
        "user",
        "create-admin",
        "--username",
        username,
        "--email",
        f"{username}@example.com",
        "--password",
        PASSWORD,
    )
    assert result.returncode == 0, result.stderr
    return api.login(username)
