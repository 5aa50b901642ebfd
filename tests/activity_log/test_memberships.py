"""Project memberships come from the project-task service, briefly cached per user."""

from __future__ import annotations

import pytest

from scripts.toolkit.processes import free_port


def get_feed(client, account):
    return client.get("/api/activities", headers=account.headers)


def test_memberships_are_asked_with_the_service_token_and_cached(client, people, project_task):
    project_task.add_member(people.member.id, 1)

    assert get_feed(client, people.member).status_code == 200
    assert get_feed(client, people.member).status_code == 200

    [call] = project_task.calls
    assert call["X-Service-Token"] == client.application.config["SERVICE_TOKEN"]
    assert call["X-Request-Id"]


def test_each_user_has_their_own_cache_entry(client, people, project_task):
    get_feed(client, people.member)
    get_feed(client, people.stranger)

    assert len(project_task.calls) == 2


def test_admins_cost_no_call(client, people, project_task):
    assert get_feed(client, people.admin).status_code == 200
    assert project_task.calls == []


@pytest.fixture
def project_task_away(app):
    url = app.config["PROJECT_TASK_SERVICE_URL"]
    app.config["PROJECT_TASK_SERVICE_URL"] = f"http://127.0.0.1:{free_port()}"
    yield
    app.config["PROJECT_TASK_SERVICE_URL"] = url


def test_an_unreachable_project_task_service_is_503(client, people, project_task_away):
    response = get_feed(client, people.member)

    assert response.status_code == 503
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json["code"] == "service_unavailable"
