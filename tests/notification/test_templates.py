"""Notification templates: admin CRUD, the sandbox, and their use when notifying."""

from __future__ import annotations

import pytest

from tests.notification.conftest import envelope, task_data

PATH = "/api/notification-templates"


def create(client, admin, **fields):
    body = {
        "name": "digest",
        "subject": "Digest for {{ recipient.username }}",
        "body": "Hi",
        **fields,
    }
    return client.post(PATH, json=body, headers=admin.headers)


def test_seeded_defaults_are_listed(client, people):
    response = client.get(f"{PATH}?per_page=200", headers=people.root.headers)

    assert response.status_code == 200
    names = {t["name"] for t in response.json["items"]}
    assert {"task.assigned", "comment.mentioned", "user.password_reset_requested"} <= names
    assert "Link" in response.headers


def test_templates_are_for_admins_only(client, people):
    assert client.get(PATH, headers=people.alice.headers).status_code == 403
    assert create(client, people.alice).status_code == 403
    assert client.get(f"{PATH}/1", headers=people.alice.headers).status_code == 403
    assert client.get(PATH).status_code == 401


def test_create_read_replace_delete(client, people):
    created = create(client, people.root, channel="email")
    assert created.status_code == 201, created.json
    location = created.headers["Location"]
    assert location.endswith(f"/{created.json['id']}")

    fetched = client.get(location, headers=people.root.headers)
    assert fetched.json["channel"] == "email"
    etag = fetched.headers["ETag"]

    replaced = client.put(
        location,
        json={"name": "digest", "subject": "Weekly", "body": "Body", "channel": "both"},
        headers={**people.root.headers, "If-Match": etag},
    )
    assert replaced.status_code == 200
    assert replaced.json["subject"] == "Weekly"

    stale = client.delete(location, headers={**people.root.headers, "If-Match": etag})
    assert stale.status_code == 412
    assert stale.json["code"] == "precondition_failed"
    deleted = client.delete(
        location, headers={**people.root.headers, "If-Match": replaced.headers["ETag"]}
    )
    assert deleted.status_code == 204
    assert client.get(location, headers=people.root.headers).status_code == 404


def test_create_is_idempotent_with_a_key(client, people):
    headers = {**people.root.headers, "Idempotency-Key": "tpl-1"}
    body = {"name": "weekly", "subject": "s", "body": "b"}
    first = client.post(PATH, json=body, headers=headers)
    again = client.post(PATH, json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json["id"] == first.json["id"]


def test_a_taken_name_is_a_conflict(client, people):
    response = create(client, people.root, name="task.assigned")
    assert response.status_code == 409
    assert response.json["code"] == "conflict"


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ task.__class__ }}",
        "{{ 'x' * 1000000 }}",
        "{% for i in range(100000) %}{{ i }}{% endfor %}",
        "{{ 9 ** 999999 }}",
        "{% if %}",
        "{{ no_such_variable }}",
    ],
)
def test_a_template_that_is_unsafe_or_broken_is_refused(client, people, source):
    response = create(client, people.root, body=source)

    assert response.status_code == 422
    assert response.json["code"] == "validation_error"
    assert "body" in response.json["errors"]


def test_an_edited_template_renders_the_next_notification(client, jobs, people):
    items = client.get(f"{PATH}?per_page=200", headers=people.root.headers).json["items"]
    template = next(t for t in items if t["name"] == "task.assigned")
    response = client.put(
        f"{PATH}/{template['id']}",
        json={
            "name": "task.assigned",
            "subject": "[{{ task.project_id }}] {{ task.title | upper }} is yours",
            "body": "From {{ actor.username }}",
            "channel": "in_app",
        },
        headers=people.root.headers,
    )
    assert response.status_code == 200, response.json

    jobs.consume(
        envelope(
            "task.assigned",
            people.alice,
            data={"task": task_data(title="Ship", assignee_id=people.bob.id)},
            changes={"assignee_id": [None, people.bob.id]},
        )
    )

    [note] = client.get("/api/notifications", headers=people.bob.headers).json["items"]
    assert note["title"] == "[1] SHIP is yours"
    assert note["body"] == f"From {people.alice.username}"
    assert jobs.send_emails() == 0  # in_app only


def test_a_deleted_template_falls_back_to_the_default(client, jobs, people):
    items = client.get(f"{PATH}?per_page=200", headers=people.root.headers).json["items"]
    template = next(t for t in items if t["name"] == "report.failed")
    client.delete(f"{PATH}/{template['id']}", headers=people.root.headers)

    jobs.consume(
        envelope(
            "report.failed",
            None,
            data={"requester_id": people.bob.id, "report": {"id": 1, "error": "disk full"}},
            project_id=None,
        )
    )

    [note] = client.get("/api/notifications", headers=people.bob.headers).json["items"]
    assert note["title"] == "Your report failed"
    assert "disk full" in note["body"]
