"""R6 (docs/testing.md): schemathesis over every built service's OpenAPI document, through nginx,
with real bearer tokens: 0 server errors, 0 schema violations.

Each operation gets valid and invalid (negative) generated requests, checked for
``not_a_server_error`` and for conformance of the response to the document: the status
code is documented for that operation (the documents list each error status; there is no
catch-all ``default``), the content type is the documented one, and the body matches the
documented schema. Reads run as a global admin (the deepest view); writes as a plain
user, so no generated write can rewrite what other tests rely on (templates, roles);
logout and token refresh get sessions of their own. Every service has its own accounts
so the per-user rate limit (600/minute here) is not what the run measures.

The run is bounded and deterministic (``derandomize``, no example database, no
shrinking): ``RESILIENCE_R6_EXAMPLES`` examples per operation, 20 in CI. Only services
built in this checkout are walked: their documents are the ones that exist.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from scripts import stack
from tests.resilience.conftest import scale
from tests.support.api import Account, ApiClient
from tests.support.fixtures import make_admin

EXAMPLES = scale("r6_examples", 20)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
SESSION_ENDING = {"/api/logout", "/api/token/refresh"}
# An event stream never ends by itself: schemathesis reads it for the read timeout (its
# events so far are what is checked), then hangs up.
STREAM_TIMEOUT = (5, 1.5)


def streams(operation: Any) -> bool:
    """Whether the operation answers a text/event-stream."""
    ok = operation.definition.raw.get("responses", {}).get("200", {})
    return "text/event-stream" in ok.get("content", {})


def promoted(api: ApiClient, admin: Account) -> Account:
    """A new account made a global admin by ``admin``."""
    account = api.account()
    response = api.patch(
        f"/api/admin/users/{account.id}", token=admin.access_token, json={"role": "admin"}
    )
    assert response.status_code == 200, response.text
    return api.login(account.username)


@pytest.fixture(scope="module")
def fuzz_admin(platform) -> Account:
    """One global admin for the module; each service gets accounts it promotes."""
    return make_admin(platform, ApiClient(platform.url))


def fuzz(operation: Any, base_url: str, client: ApiClient, token: str) -> None:
    """Run the bounded, deterministic schemathesis examples of one operation."""
    strategy = operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(
        GenerationMode.NEGATIVE
    )

    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        case.call_and_validate(
            base_url=base_url,
            session=client.session,
            headers={"Authorization": f"Bearer {token}"},
            checks=CHECKS,
            **({"timeout": STREAM_TIMEOUT} if streams(operation) else {}),
        )

    run()


@pytest.mark.parametrize("service", [service.name for service in stack.built_services()])
def test_service_conforms_to_its_openapi_document(platform, fuzz_admin, service):
    api = ApiClient(platform.url)
    document = requests.get(f"{platform.url}/api/docs/{service}/openapi.json", timeout=10)
    assert document.status_code == 200, document.text
    schema = schemathesis.openapi.from_dict(document.json())
    writer, reader = api.account(), promoted(api, fuzz_admin)
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        client = ApiClient(platform.url)
        token = (reader if operation.method.upper() == "GET" else writer).access_token
        if operation.path in SESSION_ENDING:
            token = client.account().access_token
        try:
            fuzz(operation, platform.url, client, token)
        except Exception as exc:
            failures.append(f"{operation.label}:\n{exc}")
    assert not failures, f"{len(failures)} operations failed:\n\n" + "\n\n".join(failures)
