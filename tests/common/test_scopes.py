"""Scopes: every operation of every service declares the scope it needs (its OpenAPI
document shows it), and :func:`require_auth` enforces the declaration, in one place.

The first test is the one a new endpoint without a scope fails. The others drive a small
app through the real decorator, with a stand-in verifier that answers fixed principals
(the verifier itself is tested with the user service and end to end).
"""

from __future__ import annotations

import importlib

import pytest
from flask import Flask
from flask.views import MethodView
from flask_smorest import Blueprint

from services.common import auth, init_service, make_api
from services.common.auth import InvalidToken, Principal, current_principal, require_auth
from services.common.config import BaseConfig
from services.common.registry import SERVICES
from services.common.scopes import (
    ADMIN,
    GRANTABLE,
    SESSION,
    SESSION_SCOPES,
    SIGNED_IN,
    AuthRequirement,
)

METHODS = ("get", "post", "put", "patch", "delete")


def _documents(tmp_path, monkeypatch) -> dict[str, dict]:
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    documents = {}
    for info in SERVICES.values():
        app = importlib.import_module(f"services.{info.package}").create_app()
        response = app.test_client().get(f"/api/docs/{info.name}/openapi.json")
        assert response.status_code == 200, info.name
        documents[info.name] = response.get_json()
    return documents


# POSTs that change nothing but hand out a credential to read with: a live-stream ticket
# opens one stream of what ``activities:read`` already lets the caller read.
READING_CREDENTIALS = {("post", "/api/stream/tickets")}


def test_every_operation_of_every_service_declares_its_scope(tmp_path, monkeypatch):
    undeclared, unknown, wrong_verb = [], [], []
    for service, document in _documents(tmp_path, monkeypatch).items():
        for path, item in document["paths"].items():
            for method in METHODS:
                operation = item.get(method)
                if operation is None or operation.get("security") == []:
                    continue  # public: no token at all
                label = f"{method.upper()} {path} ({service})"
                scope = operation.get("x-required-scope")
                if scope is None:
                    undeclared.append(label)
                elif scope not in SESSION_SCOPES:
                    unknown.append(f"{label}: {scope}")
                elif (method, path) not in READING_CREDENTIALS and scope.endswith(
                    ":write" if method == "get" else ":read"
                ):
                    wrong_verb.append(f"{label}: {scope}")
    assert not undeclared, (
        "operations that declare no scope (require_auth(scope=...), see "
        "services/common/scopes.py): " + ", ".join(undeclared)
    )
    assert not unknown, "unknown scopes: " + ", ".join(unknown)
    assert not wrong_verb, "a read needing a write scope or a write a read one: " + ", ".join(
        wrong_verb
    )


class _Tokens:
    """Stand-in verifier: a fixed principal per token string."""

    def __init__(self, principals: dict[str, Principal]) -> None:
        self.principals = principals

    def verify(self, token: str) -> Principal:
        if token not in self.principals:
            raise InvalidToken("The token is not valid.")
        return self.principals[token]


class _Config(BaseConfig):
    SERVICE_NAME = "sample"


@pytest.fixture
def app(tmp_path, monkeypatch) -> Flask:
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    app = Flask(__name__)
    app.config.from_object(_Config())
    init_service(app)
    auth.init_app(
        app,
        _Tokens(
            {
                "session": Principal(1, "ann", "user", "s1"),
                "tasks-read": Principal(1, "ann", "user", "pat:1", frozenset({"tasks:read"})),
                "admin-session": Principal(2, "root", "admin", "s2"),
                "admin-pat": Principal(2, "root", "admin", "pat:2", frozenset({"tasks:read"})),
                "admin-pat-admin": Principal(2, "root", "admin", "pat:3", frozenset({ADMIN})),
                "restricted": Principal(2, "root", "admin", "s3", frozenset({SIGNED_IN})),
            }
        ),
    )
    blp = Blueprint("things", __name__, url_prefix="/api")

    @blp.route("/tasks")
    class Tasks(MethodView):
        decorators = [require_auth(scope="tasks")]

        @blp.response(200)
        def get(self):
            """Tasks."""
            return {"admin": current_principal().is_admin}

        @blp.response(201)
        def post(self):
            """Make a task."""
            return {}, 201

    @blp.route("/undeclared")
    class Undeclared(MethodView):
        decorators = [require_auth]

        @blp.response(200)
        def get(self):
            """Someone forgot the scope."""
            return {}

    @blp.route("/admin-only")
    class AdminOnly(MethodView):
        decorators = [require_auth(admin=True)]

        @blp.response(200)
        def get(self):
            """Admins only."""
            return {}

    @blp.route("/logout")
    class Logout(MethodView):
        @require_auth(scope=SIGNED_IN)
        @blp.response(204)
        def post(self):
            """A method-level declaration."""

    make_api(app).register_blueprint(blp)
    return app


def call(app: Flask, method: str, path: str, token: str):
    return app.test_client().open(path, method=method, headers={"Authorization": f"Bearer {token}"})


def test_a_read_token_reads_and_gets_insufficient_scope_on_a_write(app):
    assert call(app, "GET", "/api/tasks", "tasks-read").status_code == 200
    refused = call(app, "POST", "/api/tasks", "tasks-read")
    assert refused.status_code == 403
    assert refused.mimetype == "application/problem+json"
    assert refused.get_json()["code"] == "insufficient_scope"
    assert refused.get_json()["scope"] == "tasks:write"
    assert refused.headers["WWW-Authenticate"] == (
        'Bearer error="insufficient_scope", scope="tasks:write"'
    )
    assert call(app, "POST", "/api/tasks", "session").status_code == 201


def test_an_endpoint_without_a_scope_takes_sessions_only_and_documents_none(app):
    assert call(app, "GET", "/api/undeclared", "session").status_code == 200
    refused = call(app, "GET", "/api/undeclared", "tasks-read")
    assert refused.status_code == 403 and refused.get_json()["scope"] == SESSION
    paths = app.test_client().get("/api/docs/sample/openapi.json").get_json()["paths"]
    assert "x-required-scope" not in paths["/api/undeclared"]["get"]
    assert paths["/api/tasks"]["get"]["x-required-scope"] == "tasks:read"
    assert paths["/api/tasks"]["post"]["x-required-scope"] == "tasks:write"
    assert paths["/api/admin-only"]["get"]["x-required-scope"] == ADMIN
    assert paths["/api/logout"]["post"]["x-required-scope"] == SIGNED_IN
    assert "`tasks:write`" in paths["/api/tasks"]["post"]["description"]


def test_the_admin_role_needs_the_admin_scope_on_a_token(app):
    assert call(app, "GET", "/api/admin-only", "admin-session").status_code == 200
    refused = call(app, "GET", "/api/admin-only", "admin-pat")
    assert refused.status_code == 403 and refused.get_json()["code"] == "insufficient_scope"
    assert call(app, "GET", "/api/admin-only", "admin-pat-admin").status_code == 200
    # Without the admin scope an admin's token has no admin powers elsewhere either.
    assert call(app, "GET", "/api/tasks", "admin-pat").get_json() == {"admin": False}
    assert call(app, "GET", "/api/tasks", "admin-session").get_json() == {"admin": True}


def test_a_restricted_session_only_reaches_what_signed_in_allows(app):
    assert call(app, "POST", "/api/logout", "restricted").status_code == 204
    assert call(app, "GET", "/api/tasks", "restricted").status_code == 403
    assert call(app, "POST", "/api/logout", "tasks-read").status_code == 403


def test_an_unknown_scope_is_refused_when_declared():
    with pytest.raises(ValueError, match="unknown scope"):
        AuthRequirement("task:read")
    assert AuthRequirement("tasks").needed("HEAD") == "tasks:read"
    assert AuthRequirement("tasks").needed("DELETE") == "tasks:write"
    assert AuthRequirement().needed("GET") == SESSION
    assert SESSION not in GRANTABLE and SIGNED_IN not in GRANTABLE
