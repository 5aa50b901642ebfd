"""Fixtures for the user service: the app on a real database and Redis, a client, and
an ``auth`` helper that registers and signs in users."""

from __future__ import annotations

import itertools

import pytest
from flask_migrate import upgrade

from services.common.redis_store import get_redis
from services.common.testing import configure_for_tests, empty_tables
from services.user import MIGRATIONS, create_app
from services.user.config import Config
from services.user.extensions import db
from tests.support.api import Account

_counter = itertools.count(1)


@pytest.fixture(scope="session")
def _user_app(backing):
    config = configure_for_tests(Config(), backing.database_url("user"), backing.redis_url)
    app = create_app(config)
    with app.app_context():
        upgrade(directory=str(MIGRATIONS))
    return app


@pytest.fixture
def app(_user_app):
    # No app context is held during the test: each request gets its own, as in production.
    yield _user_app
    with _user_app.app_context():
        empty_tables(db)
        get_redis().flushdb()


class AuthActions:
    """Register and sign in users through the API."""

    def __init__(self, client, database):
        self.client = client
        self.database = database

    def register(
        self, username: str | None = None, password: str = "correct horse battery", **extra
    ):
        username = username or f"user{next(_counter)}"
        body = {
            "username": username,
            "email": f"{username}@example.com",
            "password": password,
            **extra,
        }
        response = self.client.post("/api/register", json=body)
        assert response.status_code == 201, response.json
        return response.json

    def login(self, username: str, password: str = "correct horse battery") -> Account:
        response = self.client.post("/api/login", json={"username": username, "password": password})
        assert response.status_code == 200, response.json
        body = response.json
        user = body["user"]
        return Account(
            user["id"],
            user["username"],
            user["email"],
            password,
            body["access_token"],
            body["refresh_token"],
        )

    def account(self, username: str | None = None, **extra) -> Account:
        user = self.register(username, **extra)
        return self.login(user["username"])

    def admin(self) -> Account:
        from services.user.models import User

        account = self.account()
        with self.database() as session:
            session.get(User, account.id).role = "admin"
            session.commit()
        return account


@pytest.fixture
def auth(client, database) -> AuthActions:
    return AuthActions(client, database)
