"""Quick views: computed on request from project-task's aggregates, equal to what its API
shows, access-checked first and cached per user (and project), never across users."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from tests.reporting.factories import STATUSES, team_project, today
from tests.support.probes import record_calls


@pytest.fixture
def project(project_task_service, people):
    return team_project(project_task_service, people.owner, people.member)


def test_a_user_without_projects_gets_an_empty_dashboard(client, user_service, task_api):
    newcomer = user_service.account()
    api_total = {s: task_api.total("/api/tasks", newcomer, status=s) for s in STATUSES}
    response = client.get("/api/reports/quick/dashboard", headers=newcomer.headers)

    assert response.status_code == 200
    body = response.json
    assert body["project_count"] == 0 and body["tasks"]["total"] == 0
    assert body["tasks"]["by_status"] == api_total


def test_dashboard_numbers(client, project, people, task_api, project_task_service):
    other = project_task_service.project(people.member)
    project_task_service.task(other, people.member, assignee_id=people.member.id)
    week_end = today() + timedelta(days=6 - today().weekday())
    member = people.member

    response = client.get("/api/reports/quick/dashboard", headers=member.headers)

    assert response.status_code == 200, response.json
    body = response.json
    mine = {p["id"] for p in task_api.get("/api/projects", member, per_page=200)["items"]}
    assert {p["id"] for p in body["projects"]} == mine
    assert body["project_count"] == len(mine)
    tasks = body["tasks"]
    assert tasks["total"] == task_api.total("/api/tasks", member)
    assert tasks["by_status"] == {
        s: task_api.total("/api/tasks", member, status=s) for s in STATUSES
    }
    assert tasks["overdue"] == task_api.total("/api/tasks", member, overdue="true")
    assert tasks["due_this_week"] == task_api.total(
        "/api/tasks",
        member,
        status="todo,in_progress,in_review",
        due_after=(today() - timedelta(days=1)).isoformat(),
        due_before=(week_end + timedelta(days=1)).isoformat(),
    )
    done, cancelled = tasks["by_status"]["done"], tasks["by_status"]["cancelled"]
    assert tasks["completion_rate"] == round(done / (tasks["total"] - cancelled), 4)
    mine_open = task_api.get(
        "/api/tasks", member, assignee_id="me", status="todo,in_progress,in_review", sort="due_date"
    )
    assert body["my_open_tasks"]["total"] == mine_open["total"]
    assert [t["id"] for t in body["my_open_tasks"]["next"]] == [
        t["id"] for t in mine_open["items"][:10]
    ]
    per_project = {p["id"]: p for p in body["projects"]}
    assert per_project[project["id"]]["task_count"] == 8
    assert per_project[project["id"]]["role"] == "member"
    assert per_project[other["id"]]["role"] == "owner"


def test_project_summary_needs_membership_and_matches_the_api(client, project, people, task_api):
    url = f"/api/reports/quick/project-summary/{project['id']}"
    response = client.get(url, headers=people.member.headers)

    assert response.status_code == 200
    body = response.json
    path = f"/api/projects/{project['id']}/tasks"
    assert body["by_status"] == {s: task_api.total(path, people.member, status=s) for s in STATUSES}
    assert body["overdue"] == task_api.total(path, people.member, overdue="true")
    assert len(body["weekly"]) == 8
    assert client.get(url, headers=people.outsider.headers).status_code == 404
    assert client.get(url, headers=people.admin.headers).status_code == 200
    missing = client.get("/api/reports/quick/project-summary/999999", headers=people.admin.headers)
    assert missing.status_code == 404


def test_the_dashboard_cache_is_per_user(client, project, people, project_task_service):
    first = client.get("/api/reports/quick/dashboard", headers=people.member.headers)
    again = client.get("/api/reports/quick/dashboard", headers=people.member.headers)
    stranger = client.get("/api/reports/quick/dashboard", headers=people.outsider.headers)

    assert (first.headers["X-Cache"], again.headers["X-Cache"]) == ("miss", "hit")
    assert again.json == first.json
    assert stranger.headers["X-Cache"] == "miss"
    assert stranger.json["user_id"] == people.outsider.id
    assert project["id"] not in {p["id"] for p in stranger.json["projects"]}

    project_task_service.task(project, people.owner)
    cached = client.get("/api/reports/quick/dashboard", headers=people.member.headers)
    assert cached.json["tasks"]["total"] == first.json["tasks"]["total"]


def test_no_cache_recomputes_only_an_answer_older_than_the_refresh_interval(
    app, client, project, people, project_task_service, monkeypatch
):
    monkeypatch.setitem(app.config, "QUICK_REFRESH_SECONDS", 1.0)
    url = "/api/reports/quick/dashboard"
    no_cache = {**people.member.headers, "Cache-Control": "no-cache"}
    first = client.get(url, headers=people.member.headers)
    project_task_service.task(project, people.owner)

    pressed = [client.get(url, headers=no_cache) for _ in range(10)]

    assert {r.headers["X-Cache"] for r in pressed} == {"hit"}
    assert {r.json["tasks"]["total"] for r in pressed} == {first.json["tasks"]["total"]}
    time.sleep(1.1)
    fresh = client.get(url, headers=no_cache)
    again = client.get(url, headers=no_cache)
    assert fresh.headers["X-Cache"] == "miss" and again.headers["X-Cache"] == "hit"
    assert fresh.json["tasks"]["total"] == first.json["tasks"]["total"] + 1


def test_query_strings_and_other_headers_do_not_make_a_new_answer(client, project, people):
    url = f"/api/reports/quick/project-summary/{project['id']}"
    first = client.get(url, headers=people.member.headers)
    variants = [
        client.get(f"{url}?_={n}&nocache=true", headers=people.member.headers) for n in range(5)
    ]
    variants.append(
        client.get(
            url,
            headers={**people.member.headers, "Pragma": "no-cache", "Cache-Control": "max-age=0"},
        )
    )

    assert first.headers["X-Cache"] == "miss"
    assert {r.headers["X-Cache"] for r in variants} == {"hit"}
    assert all(r.json == first.json for r in variants)


@pytest.mark.parametrize("view", ["dashboard", "project-summary"])
def test_fifty_requests_missing_at_once_compute_the_answer_once(
    app, project, people, monkeypatch, view
):
    path = "dashboard" if view == "dashboard" else f"project-summary/{project['id']}"
    calls = record_calls(monkeypatch, f"/internal/reports/{path.split('/')[0]}")
    start = threading.Barrier(50)

    def ask(_):
        client = app.test_client()
        start.wait()
        return client.get(f"/api/reports/quick/{path}", headers=people.member.headers)

    with ThreadPoolExecutor(max_workers=50) as pool:
        responses = list(pool.map(ask, range(50)))

    assert [r.status_code for r in responses] == [200] * 50
    states = [r.headers["X-Cache"] for r in responses]
    assert (states.count("miss"), states.count("hit")) == (1, 49)
    assert len(calls) == 1
    assert all(r.json == responses[0].json for r in responses)


def test_a_cached_project_summary_is_not_served_to_a_non_member(client, project, people):
    url = f"/api/reports/quick/project-summary/{project['id']}"
    assert client.get(url, headers=people.member.headers).status_code == 200
    assert client.get(url, headers=people.member.headers).headers["X-Cache"] == "hit"

    response = client.get(url, headers=people.outsider.headers)

    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_quick_views_answer_503_when_project_task_is_away(client, app, people, monkeypatch):
    monkeypatch.setitem(app.config, "PROJECT_TASK_SERVICE_URL", "http://127.0.0.1:9")
    for url in ("/api/reports/quick/dashboard", "/api/reports/quick/project-summary/1"):
        response = client.get(url, headers=people.member.headers)
        assert response.status_code == 503 and response.json["code"] == "service_unavailable"
