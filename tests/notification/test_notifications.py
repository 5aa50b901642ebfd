"""The in-app notification API: lists, read state, counts, preferences, admin sends."""

from __future__ import annotations

from sqlalchemy import func, select

from services.notification.models import EmailDelivery, Notification
from tests.notification.conftest import envelope, task_data


def add_notifications(database, account, how_many: int, **fields) -> list[int]:
    with database() as session:
        rows = [
            Notification(
                user_id=account.id,
                type="task.assigned",
                title=f"Note {n}",
                body="",
                data={},
                event_id=f"test:{account.id}:{n}:{fields.get('tag', '')}",
            )
            for n in range(how_many)
        ]
        session.add_all(rows)
        session.commit()
        return [row.id for row in rows]


def test_lists_only_your_notifications_newest_first_with_a_link_header(client, database, people):
    add_notifications(database, people.alice, 3)
    add_notifications(database, people.bob, 2)

    response = client.get("/api/notifications?per_page=2", headers=people.alice.headers)

    assert response.status_code == 200
    body = response.json
    assert [n["title"] for n in body["items"]] == ["Note 2", "Note 1"]
    assert (body["total"], body["pages"], body["page"], body["per_page"]) == (3, 2, 1, 2)
    assert 'rel="next"' in response.headers["Link"]


def test_listing_needs_a_token(client):
    response = client.get("/api/notifications")
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"


def test_read_one_then_unread_filter_and_count(client, database, people):
    first, second, _ = add_notifications(database, people.alice, 3)

    response = client.post(f"/api/notifications/{first}/read", headers=people.alice.headers)
    assert response.status_code == 200
    assert response.json["read"] is True and response.json["read_at"]

    unread = client.get("/api/notifications?unread=true", headers=people.alice.headers).json
    assert {n["id"] for n in unread["items"]} == {second, second + 1}
    count = client.get("/api/notifications/unread-count", headers=people.alice.headers)
    assert count.json == {"count": 2}


def test_reading_someone_elses_notification_is_not_found(client, database, people):
    [theirs] = add_notifications(database, people.bob, 1)

    response = client.post(f"/api/notifications/{theirs}/read", headers=people.alice.headers)

    assert response.status_code == 404
    assert response.json["code"] == "not_found"
    response = client.post("/api/notifications/999999/read", headers=people.alice.headers)
    assert response.status_code == 404


def test_read_all_marks_only_yours(client, database, people):
    add_notifications(database, people.alice, 3)
    add_notifications(database, people.bob, 1)

    response = client.post("/api/notifications/read-all", headers=people.alice.headers)

    assert response.status_code == 200
    assert response.json == {"updated": 3}
    assert client.get("/api/notifications/unread-count", headers=people.alice.headers).json == {
        "count": 0
    }
    assert client.get("/api/notifications/unread-count", headers=people.bob.headers).json == {
        "count": 1
    }


def test_a_users_notifications_are_for_themselves_and_admins(client, database, people):
    add_notifications(database, people.bob, 2)
    path = f"/api/notifications/user/{people.bob.id}"

    assert client.get(path, headers=people.bob.headers).json["total"] == 2
    assert client.get(path, headers=people.root.headers).json["total"] == 2
    response = client.get(path, headers=people.alice.headers)
    assert response.status_code == 403
    assert response.json["code"] == "forbidden"


def test_preferences_have_defaults_for_every_type(client, people):
    response = client.get("/api/notifications/preferences", headers=people.alice.headers)

    assert response.status_code == 200
    preferences = response.json["preferences"]
    assert preferences["task.assigned"] == {"in_app": True, "email": True}
    assert preferences["user.password_reset_requested"] == {"in_app": False, "email": True}
    assert {"comment.mentioned", "task.due_soon", "report.failed"} <= preferences.keys()


def test_turning_email_off_keeps_in_app_and_sends_no_email(client, jobs, database, people):
    response = client.put(
        "/api/notifications/preferences",
        json={"preferences": {"task.assigned": {"email": False}}},
        headers=people.bob.headers,
    )
    assert response.status_code == 200
    assert response.json["preferences"]["task.assigned"] == {"in_app": True, "email": False}
    assert response.json["preferences"]["comment.created"] == {"in_app": True, "email": True}

    jobs.consume(
        envelope(
            "task.assigned",
            people.alice,
            data={"task": task_data(assignee_id=people.bob.id)},
            changes={"assignee_id": [None, people.bob.id]},
        )
    )

    assert client.get("/api/notifications", headers=people.bob.headers).json["total"] == 1
    with database() as session:
        assert session.scalar(select(func.count()).select_from(EmailDelivery)) == 0


def test_turning_both_channels_off_silences_a_type(client, jobs, database, people):
    client.put(
        "/api/notifications/preferences",
        json={"preferences": {"comment.mentioned": {"email": False, "in_app": False}}},
        headers=people.bob.headers,
    )
    jobs.consume(
        envelope(
            "comment.mentioned",
            people.alice,
            data={"comment": {"id": 1}, "task": task_data(), "mentioned_user_ids": [people.bob.id]},
        )
    )

    assert client.get("/api/notifications", headers=people.bob.headers).json["total"] == 0


def test_the_password_reset_email_cannot_be_turned_off(client, people):
    response = client.put(
        "/api/notifications/preferences",
        json={"preferences": {"user.password_reset_requested": {"email": False}}},
        headers=people.alice.headers,
    )
    assert response.status_code == 422
    assert "preferences" in response.json["errors"]

    response = client.put(
        "/api/notifications/preferences",
        json={"preferences": {"no.such.type": {"email": False}}},
        headers=people.alice.headers,
    )
    assert response.status_code == 422


def test_admin_sends_a_message_by_subject_and_body(client, jobs, smtp, people):
    response = client.post(
        "/api/notifications/send",
        json={
            "user_ids": [people.alice.id, people.bob.id],
            "subject": "Hello {{ recipient.username }}",
            "body": "{{ what }} tonight.",
            "context": {"what": "Maintenance"},
        },
        headers=people.root.headers,
    )

    assert response.status_code == 202, response.json
    assert response.json["notifications"] == 2 and response.json["emails"] == 2
    [note] = client.get("/api/notifications", headers=people.alice.headers).json["items"]
    assert (note["type"], note["title"]) == ("announcement", f"Hello {people.alice.username}")
    assert note["body"] == "Maintenance tonight."
    jobs.send_emails()
    assert sorted(m["X-Envelope-To"] for m in smtp.messages) == sorted(
        [people.alice.email, people.bob.email]
    )


def test_admin_sends_by_template_and_replays_with_the_same_key(client, people):
    body = {
        "user_ids": [people.carol.id],
        "template": "announcement",
        "context": {"message": "Welcome aboard"},
    }
    headers = {**people.root.headers, "Idempotency-Key": "send-1"}

    first = client.post("/api/notifications/send", json=body, headers=headers)
    again = client.post("/api/notifications/send", json=body, headers=headers)

    assert first.status_code == 202
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json == first.json
    items = client.get("/api/notifications", headers=people.carol.headers).json["items"]
    assert [n["title"] for n in items] == ["Welcome aboard"]


def test_send_is_for_admins_and_validates(client, people):
    body = {"user_ids": [people.bob.id], "subject": "Hi", "body": "there"}
    response = client.post("/api/notifications/send", json=body, headers=people.alice.headers)
    assert response.status_code == 403

    for bad in (
        {"user_ids": [people.bob.id], "subject": "only a subject"},
        {"user_ids": [], "subject": "s", "body": "b"},
        {"user_ids": [people.bob.id], "template": "no-such-template"},
        {"user_ids": [people.bob.id], "subject": "s", "body": "{{ ''.__class__.__mro__ }}"},
    ):
        response = client.post("/api/notifications/send", json=bad, headers=people.root.headers)
        assert response.status_code == 422, bad
        assert response.json["code"] == "validation_error"
