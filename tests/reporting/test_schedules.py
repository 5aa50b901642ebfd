"""Scheduled reports: created with the same checks as a report, run by the beat job when
due, and delivered by e-mail (the completion event says so)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from services.reporting.generation import run_schedules
from services.reporting.models import OutboxEvent, Report
from services.reporting.schedules.timing import next_run
from tests.reporting.factories import team_project


@pytest.fixture
def project(project_task_service, people):
    return team_project(project_task_service, people.owner, people.member)


def test_next_run_times():
    monday_noon = datetime(2026, 11, 16, 12, 0, tzinfo=UTC)
    assert next_run("daily", None, 6, monday_noon) == datetime(2026, 11, 17, 6, tzinfo=UTC)
    assert next_run("daily", None, 13, monday_noon) == datetime(2026, 11, 16, 13, tzinfo=UTC)
    assert next_run("weekly", 0, 12, monday_noon) == datetime(2026, 11, 23, 12, tzinfo=UTC)
    assert next_run("weekly", 4, 8, monday_noon) == datetime(2026, 11, 20, 8, tzinfo=UTC)


def test_create_list_and_delete_a_schedule(client, project, people):
    body = {
        "type": "project_summary",
        "params": {"project_id": project["id"]},
        "format": "pdf",
        "frequency": "weekly",
        "weekday": 0,
        "hour": 7,
    }
    response = client.post("/api/report-schedules", json=body, headers=people.member.headers)

    assert response.status_code == 201, response.json
    schedule = response.json
    assert response.headers["Location"].endswith(f"/api/report-schedules/{schedule['id']}")
    next_at = datetime.fromisoformat(schedule["next_run_at"])
    assert (next_at.weekday(), next_at.hour, next_at.minute) == (0, 7, 0)
    assert next_at > datetime.now(UTC)
    listed = client.get("/api/report-schedules", headers=people.member.headers).json
    assert [s["id"] for s in listed["items"]] == [schedule["id"]]
    assert client.get("/api/report-schedules", headers=people.outsider.headers).json["total"] == 0
    url = f"/api/report-schedules/{schedule['id']}"
    assert client.delete(url, headers=people.outsider.headers).status_code == 404
    assert client.delete(url, headers=people.member.headers).status_code == 204
    assert client.get(url, headers=people.member.headers).status_code == 404


def test_schedules_are_checked_like_reports(client, project, people):
    cases = [
        ({"type": "system_overview", "frequency": "daily"}, 403),
        (
            {
                "type": "project_summary",
                "params": {"project_id": project["id"]},
                "frequency": "daily",
            },
            404,
        ),
        ({"type": "overdue_tasks", "frequency": "weekly"}, 422),  # no weekday
        ({"type": "overdue_tasks", "frequency": "daily", "weekday": 2}, 422),
        ({"type": "overdue_tasks", "frequency": "hourly"}, 422),
        ({"type": "overdue_tasks", "frequency": "daily", "hour": 24}, 422),
    ]
    for body, status in cases:
        response = client.post("/api/report-schedules", json=body, headers=people.outsider.headers)
        assert response.status_code == status, (body, response.json)


def test_due_schedules_make_reports_that_are_emailed(
    client, app, project, people, generate, database, monkeypatch
):
    sent: list[int] = []
    monkeypatch.setattr(
        app.extensions["celery"], "send_task", lambda name, args, **kw: sent.extend(args)
    )
    response = client.post(
        "/api/report-schedules",
        json={"type": "overdue_tasks", "format": "csv", "frequency": "daily", "hour": 5},
        headers=people.member.headers,
    )
    schedule = response.json
    due = datetime.fromisoformat(schedule["next_run_at"]) + timedelta(minutes=1)

    with app.app_context():
        assert run_schedules(due - timedelta(minutes=2)) == []
        made = run_schedules(due)
        assert run_schedules(due) == []  # advanced: not made twice
    assert sent == made and len(made) == 1

    assert generate(made[0]) == "completed"
    with database() as session:
        report = session.get(Report, made[0])
        assert (report.requester_id, report.schedule_id) == (people.member.id, schedule["id"])
        [event] = session.scalars(
            select(OutboxEvent.payload).where(OutboxEvent.type == "report.completed")
        ).all()
    assert event["data"] == {
        "requester_id": people.member.id,
        "report": {"id": made[0], "type": "overdue_tasks", "format": "csv", "error": None},
        "delivery": "email",
    }
    shown = client.get(f"/api/report-schedules/{schedule['id']}", headers=people.member.headers)
    assert datetime.fromisoformat(shown.json["next_run_at"]) == datetime.fromisoformat(
        schedule["next_run_at"]
    ) + timedelta(days=1)
    assert shown.json["last_run_at"] is not None


def test_schedules_stop_at_the_cap_even_when_requested_at_once(app, client, people, monkeypatch):
    limit = 5
    monkeypatch.setitem(app.config, "REPORT_SCHEDULES_MAX_PER_USER", limit)
    body = {"type": "overdue_tasks", "frequency": "daily"}
    start = threading.Barrier(limit + 5)

    def post(_):
        each = app.test_client()
        start.wait()
        return each.post("/api/report-schedules", json=body, headers=people.member.headers)

    with ThreadPoolExecutor(max_workers=limit + 5) as pool:
        responses = list(pool.map(post, range(limit + 5)))

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * limit + [409] * 5
    refused = next(r for r in responses if r.status_code == 409)
    assert refused.mimetype == "application/problem+json"
    assert refused.json["code"] == "too_many_schedules"
    assert client.get("/api/report-schedules", headers=people.member.headers).json["total"] == limit
    assert (
        client.post("/api/report-schedules", json=body, headers=people.owner.headers).status_code
        == 201
    )
    first = next(r for r in responses if r.status_code == 201).json["id"]
    assert (
        client.delete(f"/api/report-schedules/{first}", headers=people.member.headers).status_code
        == 204
    )
    again = client.post("/api/report-schedules", json=body, headers=people.member.headers)
    assert again.status_code == 201


def test_scheduled_reports_do_not_count_against_the_cap_of_requested_ones(
    app, client, project, people
):
    body = {"type": "overdue_tasks", "frequency": "daily"}
    for _ in range(app.config["REPORTS_MAX_ACTIVE_PER_USER"] + 1):
        assert (
            client.post(
                "/api/report-schedules", json=body, headers=people.member.headers
            ).status_code
            == 201
        )
    with app.app_context():
        made = run_schedules(datetime.now(UTC) + timedelta(days=2))

    assert len(made) == app.config["REPORTS_MAX_ACTIVE_PER_USER"] + 1
    report = {"type": "overdue_tasks", "params": {}}
    assert (
        client.post("/api/reports", json=report, headers=people.member.headers).status_code == 202
    )
