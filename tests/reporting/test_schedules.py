"""Scheduled reports: created with the same checks as a report, run by the beat job when
due, and delivered by e-mail (the completion event says so)."""

from __future__ import annotations

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
