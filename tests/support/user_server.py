"""A real user service, served from a thread of the test process, for integration tests
of the other services: their auth client verifies tokens against it over HTTP."""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass

import requests
from flask_migrate import upgrade
from werkzeug.serving import make_server

from services.common.testing import configure_for_tests
from services.user import MIGRATIONS, create_app
from services.user.config import Config
from tests.support.api import PASSWORD, Account

_names = itertools.count(1)


@dataclass
class UserService:
    url: str
    _server: object

    def account(self, username: str | None = None, *, admin: bool = False) -> Account:
        """Register and sign in a new user (made a global admin if ``admin``)."""
        username = username or f"member{next(_names)}"
        response = requests.post(
            f"{self.url}/api/register",
            json={"username": username, "email": f"{username}@example.com", "password": PASSWORD},
            timeout=10,
        )
        assert response.status_code == 201, response.text
        if admin:
            self._make_admin(response.json()["id"])
        response = requests.post(
            f"{self.url}/api/login", json={"username": username, "password": PASSWORD}, timeout=10
        )
        assert response.status_code == 200, response.text
        body = response.json()
        user = body["user"]
        return Account(
            user["id"],
            user["username"],
            user["email"],
            PASSWORD,
            body["access_token"],
            body["refresh_token"],
        )

    def _make_admin(self, user_id: int) -> None:
        from services.user.extensions import db
        from services.user.models import User

        with self._server.app.app_context():
            db.session.get(User, user_id).role = "admin"
            db.session.commit()

    def close(self) -> None:
        self._server.shutdown()


def start_user_service(backing) -> UserService:
    config = configure_for_tests(
        Config(),
        backing.database_url("user"),
        backing.redis_url,
        RATELIMIT_AUTH="10000/minute",
        JWT_ACCESS_TOKEN_EXPIRES=3600,
    )
    app = create_app(config)
    with app.app_context():
        upgrade(directory=str(MIGRATIONS))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    server.app = app
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return UserService(f"http://127.0.0.1:{server.server_port}", server)
