"""The wiring every service shares: NUL characters are refused as a validation error
before they reach a driver, JSON too deep or with too many values is a 400 before any
decoder or schema recurses through it, a problem lists a bounded number of fields, and
the OpenAPI document lists each error status an operation can answer (no catch-all
``default``)."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.views import MethodView
from flask_smorest import Blueprint

from services.common import init_service, make_api
from services.common.config import BaseConfig


class _Config(BaseConfig):
    SERVICE_NAME = "sample"


@pytest.fixture
def app(tmp_path, monkeypatch) -> Flask:
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    app = Flask(__name__)
    app.config.from_object(_Config())
    init_service(app)
    blp = Blueprint("things", __name__, url_prefix="/api")

    @blp.route("/things/<int:thing_id>")
    class ThingById(MethodView):
        @blp.response(200)
        def get(self, thing_id: int):
            """One thing."""
            return {"id": thing_id}

        @blp.response(200)
        def patch(self, thing_id: int):
            """Change a thing."""
            return {"id": thing_id}

    make_api(app).register_blueprint(blp)
    return app


def test_nul_in_a_json_string_is_a_422_naming_the_field(app):
    response = app.test_client().patch(
        "/api/things/1", json={"name": "a\x00b", "tags": ["ok", "\x00"], "nested": {"x": "\x00"}}
    )
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["code"] == "validation_error"
    assert set(body["errors"]) == {"name", "tags.1", "nested.x"}


def test_nul_in_a_query_parameter_is_a_422(app):
    response = app.test_client().get("/api/things/1?q=a%00b")
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"query.q": ["Must not contain NUL characters."]}


def test_ordinary_input_passes(app):
    assert app.test_client().patch("/api/things/1", json={"name": "ab"}).status_code == 200


def test_every_operation_documents_its_error_statuses_and_no_default(app):
    document = app.test_client().get("/api/docs/sample/openapi.json").get_json()
    operations = document["paths"]["/api/things/{thing_id}"]
    assert sorted(operations["get"]["responses"]) == [
        "200", "400", "401", "403", "404", "414", "429", "503"
    ]  # fmt: skip
    assert "412" in operations["patch"]["responses"]
    assert operations["get"]["responses"]["404"] == {"$ref": "#/components/responses/NOT_FOUND"}
    assert "NOT_FOUND" in document["components"]["responses"]


@pytest.mark.parametrize(
    "body",
    [
        "[" * 10_000 + "]" * 10_000,
        '{"a":' * 10_000 + "1" + "}" * 10_000,
        "[" * 33 + "]" * 33,
        '{"name": "x", "tags": [' + ",".join(["1"] * 10_000) + "]}",
    ],
    ids=["arrays-10000-deep", "objects-10000-deep", "arrays-33-deep", "10001-values"],
)
def test_too_deep_or_too_many_values_is_a_400_without_a_traceback(app, caplog, body):
    response = app.test_client().patch("/api/things/1", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == "bad_request"
    assert "JSON body is too large to handle" in response.get_json()["detail"]
    assert not [record for record in caplog.records if record.exc_info]


def test_json_at_the_limits_passes(app):
    deep = "[" * 32 + "]" * 32
    response = app.test_client().patch("/api/things/1", data=deep, content_type="application/json")
    assert response.status_code == 200
    body = {"tags": [1] * 9_998}  # with the object and the list: 10,000 values
    assert app.test_client().patch("/api/things/1", json=body).status_code == 200


def test_a_problem_lists_at_most_50_fields(app):
    from services.common.errors import ProblemError, problem_response

    with app.test_request_context():
        errors = {f"tags.{i}": ["Not a valid integer."] for i in range(5000)}
        body = problem_response(ProblemError(422, "The request did not validate.", errors=errors))
    document = body.get_json()
    assert len(document["errors"]) == 50 and "5000 fields failed" in document["detail"]
