"""Fixtures shared by the end-to-end and resilience suites (a pytest plugin registered in
``tests/conftest.py``): the whole built platform as real processes behind real nginx, a
real SMTP server and webhook receiver, a client, a global admin, and the probe service
(tests/support/probe_service.py) under gunicorn next to the platform."""

from __future__ import annotations

import random

import pytest

from scripts import stack
from scripts.toolkit.processes import Process, free_port
from tests.support.api import PASSWORD, Account, ApiClient
from tests.support.oidc_provider import OidcProvider, start_oidc_provider
from tests.support.platform import Platform, boot_platform
from tests.support.servers import WebhookReceiver, serve, start_smtp

# Production-like settings, with limits low enough to be provoked by a test.
PLATFORM_SETTINGS = {
    "RATELIMIT_AUTH": "10/minute",
    "RATELIMIT_USER": "600/minute",
    "WEBHOOK_ALLOW_PRIVATE": "true",
    "WEBHOOK_RETRY_BASE_SECONDS": "0.2",
    "EMAIL_RETRY_BASE_SECONDS": "0.2",
    "OUTBOX_SWEEP_SECONDS": "1",
    # Jobs of a killed worker come back after 15 s (production: an hour).
    "CELERY_VISIBILITY_TIMEOUT": "15",
    # Stream tickets expire in 2 s (production: 60), so a test can see one expire.
    "STREAM_TICKET_SECONDS": "2",
    # Share links may last 1 s (production: at least 60), so a test can see one expire;
    # a project may store 2 MB (production: 1024), so a test can pass the quota.
    "SHARE_LINK_MIN_EXPIRY_SECONDS": "1",
    "PROJECT_STORAGE_QUOTA_MB": "2",
}


@pytest.fixture(scope="session")
def smtp():
    """A real SMTP server (aiosmtpd) that keeps every message the platform sends."""
    server = start_smtp()
    yield server
    server.close()


@pytest.fixture(scope="session")
def webhook_receiver():
    """A real HTTP server that records webhook deliveries (and can be told to fail)."""
    receiver = serve(WebhookReceiver())
    yield receiver
    receiver.close()


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory) -> OidcProvider:
    """A real OpenID provider process the platform offers sign-in with (as ``mock``)."""
    provider = start_oidc_provider(tmp_path_factory.mktemp("oidc-provider"))
    yield provider
    provider.close()


@pytest.fixture(scope="session")
def platform(backing, smtp, oidc_provider, tmp_path_factory) -> Platform:
    """Every built service, worker and the aggregate health behind nginx, booted once."""
    settings = {**PLATFORM_SETTINGS, "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp.port)}
    settings.update(oidc_provider.settings())
    platform = boot_platform(backing, tmp_path_factory.mktemp("platform"), settings)
    yield platform
    platform.close()


@pytest.fixture
def api(platform) -> ApiClient:
    return ApiClient(platform.url)


def make_admin(platform: Platform, api: ApiClient) -> Account:
    """A new global admin made with the documented create-admin command, signed in."""
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


@pytest.fixture
def admin(platform, api) -> Account:
    """A global admin made with the documented create-admin command."""
    return make_admin(platform, api)


def start_probe(platform: Platform, name: str, **settings: str) -> tuple[str, Process]:
    """The probe service under gunicorn on 127.0.0.1, its tokens checked by the
    platform's user service; ``settings`` override the platform's (``LOG_LEVEL``, ...).
    Returns its URL and the process (stop it when done; its log is ``platform.log(name)``)."""
    port = free_port()
    env = platform.base_env()
    env.update({"USER_SERVICE_URL": platform.service_url("user"), "WEB_CONCURRENCY": "1"})
    env.update(settings)
    command = stack.gunicorn_command("tests.support.probe_service:create_app()", port)
    process = Process(name, command, env, platform.log(name), port)
    process.start()
    return f"http://127.0.0.1:{port}", process
