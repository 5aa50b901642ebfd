"""Reminders (beat, hourly): tasks due soon, once per task and due date, to the assignee;
personal access tokens about to expire, once per token, to the owner by e-mail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import requests
from sqlalchemy import func, select

from services.notification.models import EmailDelivery


def due(task_id: int, assignee_id: int | None, due_date: str) -> dict:
    return {
        "id": task_id,
        "title": f"Task {task_id}",
        "project_id": 1,
        "assignee_id": assignee_id,
        "due_date": due_date,
    }


def test_assignees_are_reminded_once_per_task_and_due_date(
    client, jobs, project_task, database, people
):
    project_task.due_soon[:] = [
        due(1, people.alice.id, "2030-01-02"),
        due(2, people.bob.id, "2030-01-02T10:00:00+00:00"),
        due(3, None, "2030-01-02"),
    ]

    jobs.run("notification.send_due_soon_reminders")
    jobs.run("notification.send_due_soon_reminders")

    [note] = client.get("/api/notifications", headers=people.alice.headers).json["items"]
    assert note["type"] == "task.due_soon"
    assert note["title"] == "Due soon: Task 1"
    assert "due 2030-01-02" in note["body"]
    assert client.get("/api/notifications", headers=people.bob.headers).json["total"] == 1
    assert any("/internal/tasks/due-soon?hours=24" in call for call in project_task.calls)
    with database() as session:
        assert session.scalar(select(func.count()).select_from(EmailDelivery)) == 2

    project_task.due_soon[:] = [due(1, people.alice.id, "2030-01-09")]  # moved: a new reminder
    jobs.run("notification.send_due_soon_reminders")
    assert client.get("/api/notifications", headers=people.alice.headers).json["total"] == 2


def test_token_owners_are_warned_once_three_days_before_expiry(
    client, jobs, smtp, people, user_service
):
    soon = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    later = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    made = {}
    for name, expires_at in (("nightly backup", soon), ("dashboard", later)):
        response = requests.post(
            f"{user_service.url}/api/users/me/tokens",
            json={
                "name": name,
                "scopes": ["tasks:read"],
                "expires_at": expires_at,
                "current_password": people.carol.password,
            },
            headers=people.carol.headers,
            timeout=10,
        )
        assert response.status_code == 201, response.text
        made[name] = response.json()

    jobs.run("notification.send_token_expiry_warnings")
    jobs.run("notification.send_token_expiry_warnings")
    assert jobs.send_emails() == 1

    [message] = smtp.to(people.carol.email)
    assert message["Subject"] == "Your access token nightly backup expires soon"
    body = message.get_payload(decode=True).decode()
    assert made["nightly backup"]["prefix"] in body and made["nightly backup"]["token"] not in body
    # E-mail only: nothing in the app.
    assert client.get("/api/notifications", headers=people.carol.headers).json["total"] == 0
