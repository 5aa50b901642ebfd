"""Fixtures for the reporting service: the app on a real database and Redis, with the
real user, project-task and activity-log services served from threads of the test
process (reports are computed by their internal endpoints over HTTP), people made once
per run, and helpers to run a report's job and read its file."""

from __future__ import annotations

import csv
import io
import json
from types import SimpleNamespace
from typing import Any

import pytest
import requests
from flask_migrate import upgrade
from pypdf import PdfReader

from services.common.redis_store import get_redis
from services.common.testing import configure_for_tests, empty_tables
from services.reporting import MIGRATIONS, create_app
from services.reporting.config import Config
from services.reporting.extensions import db


@pytest.fixture(scope="session")
def activity_log_service(backing, user_service, project_task_service):
    """A real activity-log service on a free port."""
    from tests.support.activity_log_server import start_activity_log_service

    service = start_activity_log_service(backing, user_service.url, project_task_service.url)
    yield service
    service.close()


@pytest.fixture(scope="session")
def storage_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("reports")


@pytest.fixture(scope="session")
def _reporting_app(backing, user_service, project_task_service, activity_log_service, storage_dir):
    config = configure_for_tests(
        Config(),
        backing.database_url("reporting"),
        backing.redis_url,
        USER_SERVICE_URL=user_service.url,
        PROJECT_TASK_SERVICE_URL=project_task_service.url,
        ACTIVITY_LOG_SERVICE_URL=activity_log_service.url,
        REPORT_STORAGE_DIR=str(storage_dir),
        RATELIMIT_USER="100000/minute",
    )
    app = create_app(config)
    with app.app_context():
        upgrade(directory=str(MIGRATIONS))
    return app


@pytest.fixture
def app(_reporting_app, activity_log_service):
    # No app context is held during the test: each request gets its own, as in production.
    yield _reporting_app
    activity_log_service.clear()
    with _reporting_app.app_context():
        empty_tables(db)
        get_redis().flushdb()


@pytest.fixture(scope="session")
def people(user_service) -> SimpleNamespace:
    """Accounts made once per run: ``owner`` and ``member`` of the projects tests make,
    ``outsider`` (member of another project only) and ``admin`` (a global admin)."""
    return SimpleNamespace(
        owner=user_service.account(),
        member=user_service.account(),
        outsider=user_service.account(),
        admin=user_service.account(admin=True),
    )


class TaskApi:
    """Reads of the project-task API, as a client sees them: the numbers to compare."""

    def __init__(self, url: str) -> None:
        self.url = url

    def get(self, path: str, account: Any, **params: Any) -> Any:
        response = requests.get(
            f"{self.url}{path}", headers=account.headers, params=params, timeout=10
        )
        assert response.status_code == 200, response.text
        return response.json()

    def total(self, path: str, account: Any, **params: Any) -> int:
        return self.get(path, account, per_page=1, **params)["total"]


@pytest.fixture(scope="session")
def task_api(project_task_service) -> TaskApi:
    return TaskApi(project_task_service.url)


@pytest.fixture
def generate(app):
    """``generate(report_id)``: run the ``reporting.generate_report`` job in this process."""
    task = app.extensions["celery"].tasks["reporting.generate_report"]

    def run(report_id: int) -> str:
        with app.app_context():
            return task(report_id)

    return run


@pytest.fixture
def request_report(client, generate):
    """POST a report as ``account``, run its job, and return the finished report."""

    def make(account: Any, report_type: str, params: dict | None = None, fmt: str = "json"):
        response = client.post(
            "/api/reports",
            json={"type": report_type, "params": params or {}, "format": fmt},
            headers=account.headers,
        )
        assert response.status_code == 202, response.json
        generate(response.json["id"])
        report = client.get(response.headers["Location"], headers=account.headers)
        assert report.status_code == 200
        return report.json

    return make


def read_csv(content: bytes) -> dict[str, list[list[str]]]:
    """The CSV's sections by title: ``{title: [header, *rows]}`` (first lines under "")."""
    sections: dict[str, list[list[str]]] = {"": []}
    current = ""
    expect_title = False
    for row in csv.reader(io.StringIO(content.decode("utf-8"))):
        if not row:
            expect_title = True
            continue
        if expect_title:
            current = row[0]
            sections[current] = []
            expect_title = False
            continue
        sections[current].append(row)
    return sections


def pdf_text(content: bytes) -> str:
    """The PDF's text with runs of whitespace as one space (table cells come out one per
    line, so a figure reads ``Total tasks 8``)."""
    reader = PdfReader(io.BytesIO(content))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


@pytest.fixture
def download(client):
    """``download(report, account)``: the response and the file read per its format
    (JSON document, CSV sections or PDF text)."""

    def fetch(report: dict, account: Any) -> tuple[Any, Any]:
        response = client.get(f"/api/reports/{report['id']}/download", headers=account.headers)
        assert response.status_code == 200, response.data[:500]
        content = response.data
        if report["format"] == "json":
            return response, json.loads(content)
        if report["format"] == "csv":
            return response, read_csv(content)
        return response, pdf_text(content)

    return fetch
