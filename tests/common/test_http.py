"""The one way a service asks another (``call_service``): over real HTTP to a small
server on loopback, the answer is loaded with its contract, the service token and the
request id go along, a 404 is an answer only when the caller says so, and anything else
but a usable answer is a 503 ``service_unavailable`` with ``Retry-After``."""

from __future__ import annotations

import threading
from typing import Any

import marshmallow as ma
import pytest
from flask import Flask, request
from werkzeug.serving import make_server

from services.common import init_service
from services.common.cache import MISSING, ExpiringCache
from services.common.config import BaseConfig
from services.common.errors import ServiceUnavailable
from services.common.http import call_service
from tests.support.backing import free_port


class _Config(BaseConfig):
    SERVICE_NAME = "sample"


class _ThingSchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)


class _Answers:
    """What the other service answers next, and what it was asked."""

    def __init__(self) -> None:
        self.status = 200
        self.body: Any = {"id": 1, "name": "one", "extra": True}
        self.seen: list[dict[str, Any]] = []
        self.url = ""


@pytest.fixture(scope="module")
def other_service():
    answers = _Answers()
    other = Flask("other")

    @other.get("/internal/things/<int:thing_id>")
    def thing(thing_id: int):
        answers.seen.append({"headers": dict(request.headers), "args": dict(request.args)})
        return answers.body, answers.status

    server = make_server("127.0.0.1", 0, other, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    answers.url = f"http://127.0.0.1:{server.server_port}"
    yield answers
    server.shutdown()


@pytest.fixture
def app(tmp_path, monkeypatch, other_service) -> Flask:
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    monkeypatch.setenv("SERVICE_TOKEN", "the-service-token")
    other_service.status = 200
    other_service.body = {"id": 1, "name": "one", "extra": True}
    other_service.seen.clear()
    app = Flask(__name__)
    app.config.from_object(_Config())
    app.config["PROJECT_TASK_SERVICE_URL"] = other_service.url
    init_service(app)

    @app.get("/things/<int:thing_id>")
    def view(thing_id: int):
        answer = call_service(
            "project-task",
            f"/internal/things/{thing_id}",
            _ThingSchema(),
            params={"q": "x", "none": None},
            missing_ok=request.args.get("missing_ok") == "1",
        )
        return {"answer": answer}

    return app


def test_the_answer_is_loaded_with_the_schema_and_the_call_carries_token_and_request_id(
    app, other_service
):
    response = app.test_client().get("/things/1", headers={"X-Request-ID": "request-12345"})

    assert response.status_code == 200
    assert response.json == {"answer": {"id": 1, "name": "one"}}
    [call] = other_service.seen
    assert call["headers"]["X-Service-Token"] == "the-service-token"
    assert call["headers"]["X-Request-Id"] == "request-12345"
    assert call["args"] == {"q": "x"}


def test_a_404_is_none_only_when_the_caller_allows_it(app, other_service):
    other_service.status, other_service.body = 404, {"detail": "gone"}
    client = app.test_client()

    allowed = client.get("/things/1?missing_ok=1")
    refused = client.get("/things/1")

    assert allowed.status_code == 200 and allowed.json == {"answer": None}
    assert refused.status_code == 503 and refused.json["code"] == "service_unavailable"


@pytest.mark.parametrize(
    ("status", "body"),
    [(500, {"detail": "boom"}), (200, {"id": "not a number"}), (200, "not json at all")],
)
def test_an_error_or_an_answer_off_contract_is_503_with_retry_after(
    app, other_service, status, body
):
    other_service.status, other_service.body = status, body

    response = app.test_client().get("/things/1")

    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert response.json["code"] == "service_unavailable"
    assert response.headers["Retry-After"] == "5"
    assert "project-task" in response.json["detail"]


def test_an_unreachable_service_raises_service_unavailable(app):
    app.config["PROJECT_TASK_SERVICE_URL"] = f"http://127.0.0.1:{free_port()}"

    with app.test_request_context(), pytest.raises(ServiceUnavailable) as raised:
        call_service("project-task", "/internal/things/1", _ThingSchema())

    assert raised.value.service == "project-task"


def test_without_an_app_setting_the_url_comes_from_the_environment(app, other_service, monkeypatch):
    del app.config["PROJECT_TASK_SERVICE_URL"]
    monkeypatch.setenv("PROJECT_TASK_SERVICE_URL", other_service.url + "/")

    with app.test_request_context():
        answer = call_service("project-task", "/internal/things/2", _ThingSchema())

    assert answer == {"id": 1, "name": "one"}


def test_the_cache_tells_a_cached_none_from_nothing_cached():
    cache = ExpiringCache(2, 60.0)
    cache.set("gone", None)

    assert cache.get("gone") is None
    assert cache.get("never") is MISSING
    cache.update({"a": 1, "b": 2})
    assert cache.get("gone") is MISSING  # bounded: the least recently used went first
    cache.clear()
    assert cache.get("a") is MISSING
