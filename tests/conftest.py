"""Suite-wide fixtures: the backing PostgreSQL/Redis, and secrets for services under test."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("SERVICE_TOKEN", "test-service-token")
os.environ.setdefault("JWT_SECRET_KEY", "test-jwt-secret-key-that-is-long-enough-for-hs256")

from tests.support.backing import Backing, open_backing

# Shared fixtures: the running platform (e2e and resilience) and per-service apps.
pytest_plugins = ["tests.support.fixtures", "tests.support.app_fixtures"]


@pytest.fixture(scope="session")
def backing(tmp_path_factory) -> Backing:
    backing = open_backing(tmp_path_factory.mktemp("backing"))
    yield backing
    backing.close()


@pytest.fixture(scope="session")
def user_service(backing):
    """A real user service on a free port, for services that verify tokens over HTTP."""
    from tests.support.user_server import start_user_service

    service = start_user_service(backing)
    yield service
    service.close()


@pytest.fixture(scope="session")
def project_task_service(backing, user_service):
    """A real project-task service on a free port (its users come from ``user_service``),
    for services that ask it about tasks over HTTP."""
    from tests.support.project_task_server import start_project_task_service

    service = start_project_task_service(backing, user_service.url)
    yield service
    service.close()


def pytest_report_header(config):
    from tests.support.backing import POSTGRES_URL, REDIS_URL, REQUIRED

    return f"backing: postgres={POSTGRES_URL} redis={REDIS_URL} require_services={REQUIRED}"
