"""Fixtures for the project-task service: the app on a real database and Redis, a real
user service (served from a thread) that issues the tokens and verifies them over HTTP,
and factories for accounts, projects and tasks that go through the API."""

from __future__ import annotations

import itertools
import threading
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from types import SimpleNamespace

import pytest
import requests
from flask_migrate import upgrade
from sqlalchemy import event
from werkzeug.serving import make_server

from services.common.testing import configure_for_tests, empty_tables
from services.project_task import MIGRATIONS, create_app
from services.project_task.config import Config
from services.project_task.extensions import db

_counter = itertools.count(1)


@dataclass(frozen=True)
class UserService:
    url: str
    app: object


@pytest.fixture(scope="session")
def user_service(backing):
    """The real user service on its own test database, served on a free port.

    Overrides the suite-wide fixture of this name: these tests sign in more users than the
    default per-IP limit on /api/register and /api/login allows, and keep their tokens for
    the whole run (one hour here)."""
    from services.user import MIGRATIONS as USER_MIGRATIONS
    from services.user import create_app as create_user_app
    from services.user.config import Config as UserConfig

    config = configure_for_tests(
        UserConfig(),
        backing.database_url("pt_user"),
        backing.redis_url,
        RATELIMIT_AUTH="100000/minute",
        RATELIMIT_USER="100000/minute",
        JWT_ACCESS_TOKEN_EXPIRES=3600,
    )
    app = create_user_app(config)
    with app.app_context():
        upgrade(directory=str(USER_MIGRATIONS))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, name="user-service", daemon=True).start()
    yield UserService(f"http://127.0.0.1:{server.server_port}", app)
    server.shutdown()


@pytest.fixture(scope="session")
def _project_task_app(backing, user_service):
    config = configure_for_tests(
        Config(),
        backing.database_url("project_task"),
        backing.redis_url,
        USER_SERVICE_URL=user_service.url,
        RATELIMIT_USER="100000/minute",
    )
    app = create_app(config)
    with app.app_context():
        upgrade(directory=str(MIGRATIONS))
    return app


@pytest.fixture
def app(_project_task_app):
    # No app context is held during the test: each request gets its own, as in production.
    yield _project_task_app
    with _project_task_app.app_context():
        empty_tables(db)


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Accounts:
    """Register and sign in users at the user service, over HTTP."""

    def __init__(self, service: UserService) -> None:
        self.service = service

    def create(self, *, admin: bool = False) -> Account:
        username = f"pt{next(_counter)}-{uuid.uuid4().hex[:6]}"
        password = "correct horse battery"
        body = {"username": username, "email": f"{username}@example.com", "password": password}
        response = requests.post(f"{self.service.url}/api/register", json=body, timeout=10)
        assert response.status_code == 201, response.text
        user_id = response.json()["id"]
        if admin:
            self._make_admin(user_id)
        response = requests.post(
            f"{self.service.url}/api/login",
            json={"username": username, "password": password},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        return Account(user_id, username, response.json()["access_token"])

    def deactivate(self, account: Account) -> None:
        self._change(account.id, is_active=False)

    def _make_admin(self, user_id: int) -> None:
        self._change(user_id, role="admin")

    def _change(self, user_id: int, **fields) -> None:
        from services.user.extensions import db as user_db
        from services.user.models import User

        with self.service.app.app_context():
            user = user_db.session.get(User, user_id)
            for field, value in fields.items():
                setattr(user, field, value)
            user_db.session.commit()
            user_db.session.remove()


@pytest.fixture(scope="session")
def accounts(user_service) -> Accounts:
    return Accounts(user_service)


@pytest.fixture(scope="session")
def people(accounts) -> SimpleNamespace:
    """Accounts made once per run (project rows are emptied between tests, users are not):
    ``owner``, ``admin``, ``member``, ``viewer``, ``stranger`` and ``root`` (a global admin)."""
    names = ("owner", "admin", "member", "viewer", "stranger")
    return SimpleNamespace(
        **{name: accounts.create() for name in names}, root=accounts.create(admin=True)
    )


class Factory:
    """Projects, members and tasks made through the API, as a client would."""

    def __init__(self, client, people: SimpleNamespace) -> None:
        self.client = client
        self.people = people

    def project(self, owner: Account | None = None, **fields) -> dict:
        owner = owner or self.people.owner
        body = {"name": f"Project {next(_counter)}", **fields}
        response = self.client.post("/api/projects", json=body, headers=owner.headers)
        assert response.status_code == 201, response.json
        return response.json

    def add_member(self, project: dict, user: Account, role: str, by: Account | None = None):
        response = self.client.post(
            f"/api/projects/{project['id']}/members",
            json={"user_id": user.id, "role": role},
            headers=(by or self.people.owner).headers,
        )
        assert response.status_code == 201, response.json
        return response.json

    def team(self, **fields) -> dict:
        """A project of ``people.owner`` with ``admin``, ``member`` and ``viewer`` in their roles."""
        project = self.project(**fields)
        for role in ("admin", "member", "viewer"):
            self.add_member(project, getattr(self.people, role), role)
        return project

    def task(self, project: dict, by: Account | None = None, **fields) -> dict:
        body = {"title": f"Task {next(_counter)}", **fields}
        response = self.client.post(
            f"/api/projects/{project['id']}/tasks",
            json=body,
            headers=(by or self.people.owner).headers,
        )
        assert response.status_code == 201, response.json
        return response.json

    def workspace(self, owner: Account, **fields) -> dict:
        body = {"name": f"Workspace {next(_counter)}", **fields}
        response = self.client.post("/api/workspaces", json=body, headers=owner.headers)
        assert response.status_code == 201, response.json
        return response.json

    def add_workspace_member(self, workspace: dict, user: Account, role: str, by: Account):
        response = self.client.post(
            f"/api/workspaces/{workspace['id']}/members",
            json={"user_id": user.id, "role": role},
            headers=by.headers,
        )
        assert response.status_code == 201, response.json
        return response.json

    def relate(self, task: dict, relation_type: str, other: dict, by: Account | None = None):
        response = self.client.post(
            f"/api/tasks/{task['id']}/relations",
            json={"type": relation_type, "task_id": other["id"]},
            headers=(by or self.people.owner).headers,
        )
        assert response.status_code == 201, response.json
        return response.json


@pytest.fixture(scope="session")
def crew(accounts) -> SimpleNamespace:
    """Accounts for the workspace tests, made once per run: ``ws_owner``, ``ws_admin``,
    ``ws_member`` and ``outsider`` (in no workspace)."""
    names = ("ws_owner", "ws_admin", "ws_member", "outsider")
    return SimpleNamespace(**{name: accounts.create() for name in names})


@pytest.fixture
def org(factory, crew, people) -> SimpleNamespace:
    """A workspace of ``crew.ws_owner`` with ``ws_admin`` (admin) and ``ws_member``
    (member); in it ``shared`` (visibility workspace) and ``private`` (private), both
    projects of ``people.owner``, put there by a global admin; and ``outside``, a
    project of ``people.owner`` in no workspace."""
    workspace = factory.workspace(crew.ws_owner)
    factory.add_workspace_member(workspace, crew.ws_admin, "admin", by=crew.ws_owner)
    factory.add_workspace_member(workspace, crew.ws_member, "member", by=crew.ws_owner)
    placed = {}
    for name, visibility in (("shared", "workspace"), ("private", "private")):
        project = factory.project(name=name.title())
        response = factory.client.patch(
            f"/api/projects/{project['id']}",
            json={"workspace_id": workspace["id"], "visibility": visibility},
            headers=people.root.headers,
        )
        assert response.status_code == 200, response.json
        placed[name] = response.json
    outside = factory.project(name="Outside")
    return SimpleNamespace(workspace=workspace, outside=outside, **placed)


@pytest.fixture
def factory(client, people) -> Factory:
    return Factory(client, people)


@pytest.fixture
def sql_statements(app):
    """``with sql_statements() as statements:`` collects the SQL this thread runs meanwhile
    (the test client serves requests in the test's thread; the outbox relay has its own)."""

    @contextmanager
    def capture():
        with app.app_context():
            engine = db.engine
        statements: list[str] = []
        thread = threading.get_ident()

        def before_cursor_execute(conn, cursor, statement, parameters, context, executemany):
            if threading.get_ident() == thread:
                statements.append(statement)

        event.listen(engine, "before_cursor_execute", before_cursor_execute)
        try:
            yield statements
        finally:
            event.remove(engine, "before_cursor_execute", before_cursor_execute)

    return capture
