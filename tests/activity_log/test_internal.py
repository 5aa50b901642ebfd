"""The activity summary served to the reporting service (``/internal/activities/summary``):
counts by action and by day, of one project or all, with retention's daily summaries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.activity_log.models import DailySummary

SERVICE = {"X-Service-Token": "test-service-token"}
URL = "/internal/activities/summary"


def test_the_summary_needs_the_service_token(client, people):
    for headers in ({}, {"X-Service-Token": "wrong"}, people.admin.headers):
        response = client.get(URL, headers=headers)
        assert response.status_code == 403 and response.json["code"] == "forbidden"


def test_counts_by_action_and_day_of_one_project(client, consume, envelope, database, people):
    now = datetime.now(UTC)
    yesterday = now - timedelta(days=1)
    consume(
        envelope("task.created", actor=people.member, entity=("task", 1), project_id=5),
        envelope("task.created", actor=people.member, entity=("task", 2), project_id=5),
        envelope(
            "task.updated",
            actor=people.member,
            entity=("task", 1),
            project_id=5,
            occurred_at=yesterday,
        ),
        envelope("task.created", actor=people.member, entity=("task", 3), project_id=6),
        envelope(
            "task.created",
            actor=people.member,
            entity=("task", 4),
            project_id=5,
            occurred_at=now - timedelta(days=10),
        ),
    )
    with database() as session:  # what retention kept of older entries
        session.add(
            DailySummary(
                day=(now - timedelta(days=2)).date(), action="task.deleted", project_id=5, count=4
            )
        )
        session.commit()

    response = client.get(URL, headers=SERVICE, query_string={"project_id": 5, "days": 7})

    assert response.status_code == 200
    body = response.json
    assert body["project_id"] == 5 and body["days"] == 7
    assert body["total"] == 7
    assert body["by_action"] == [
        {"action": "task.deleted", "count": 4},
        {"action": "task.created", "count": 2},
        {"action": "task.updated", "count": 1},
    ]
    by_day = {entry["day"]: entry["count"] for entry in body["by_day"]}
    assert len(by_day) == 7
    assert by_day[now.date().isoformat()] == 2
    assert by_day[yesterday.date().isoformat()] == 1
    assert by_day[(now - timedelta(days=2)).date().isoformat()] == 4

    everything = client.get(URL, headers=SERVICE, query_string={"days": 30}).json
    assert everything["project_id"] is None and everything["total"] == 9


def test_bad_arguments_are_422(client):
    for query in ({"days": 0}, {"days": 1000}, {"project_id": "x"}, {"colour": "red"}):
        response = client.get(URL, headers=SERVICE, query_string=query)
        assert response.status_code == 422, query
