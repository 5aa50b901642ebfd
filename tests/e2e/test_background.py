"""Background work end to end, through nginx with real Celery workers and a real SMTP
server: notifications in-app and by e-mail, the activity log, webhooks (docs/events.md, docs/services.md)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from scripts.toolkit.waiting import wait_for
from tests.support.api import notifications, team


def test_assignment_notifies_the_assignee_in_app_and_by_email_not_the_actor(api, smtp):
    owner, member, project = team(api)
    task = api.post(
        f"/api/projects/{project['id']}/tasks",
        token=owner.access_token,
        json={"title": "Write the user guide"},
    ).json()
    assigned = api.patch(
        f"/api/tasks/{task['id']}", token=owner.access_token, json={"assignee_id": member.id}
    )
    assert assigned.status_code == 200

    [notice] = wait_for(lambda: notifications(api, member, "task.assigned"))
    assert "Write the user guide" in notice["title"] + notice["body"]
    [mail] = wait_for(lambda: smtp.to(member.email))
    assert "Write the user guide" in mail["Subject"]
    time.sleep(0.5)
    assert notifications(api, owner, "task.assigned") == []
    assert smtp.to(owner.email) == []


def test_status_change_notifies_the_reporter_but_not_the_member_who_made_it(api, smtp):
    owner, member, project = team(api)
    task = api.post(
        f"/api/projects/{project['id']}/tasks",
        token=owner.access_token,
        json={"title": "Review the API", "assignee_id": member.id},
    ).json()
    moved = api.patch(
        f"/api/tasks/{task['id']}", token=member.access_token, json={"status": "in_progress"}
    )
    assert moved.status_code == 200
    [notice] = wait_for(lambda: notifications(api, owner, "task.status_changed"))
    assert "in_progress" in notice["title"] + notice["body"]
    time.sleep(0.5)
    assert notifications(api, member, "task.status_changed") == []


def test_every_action_is_in_the_activity_log_with_changes_and_request_id(api):
    owner, member, project = team(api)
    created = api.post(
        f"/api/projects/{project['id']}/tasks",
        token=owner.access_token,
        json={"title": "Audit me", "priority": "low"},
        headers={"X-Request-ID": "e2e-create-request-1"},
    )
    task = created.json()
    updated = api.patch(
        f"/api/tasks/{task['id']}",
        token=owner.access_token,
        json={"priority": "high"},
        headers={"X-Request-ID": "e2e-update-request-1"},
    )
    assert updated.status_code == 200

    def entries() -> dict[str, dict]:
        response = api.get(
            f"/api/activities?project_id={project['id']}&entity_type=task",
            token=member.access_token,
        )
        assert response.status_code == 200, response.text
        found = {e["action"]: e for e in response.json()["items"]}
        return found if {"task.created", "task.updated"} <= set(found) else {}

    found = wait_for(entries)
    assert found["task.created"]["request_id"] == "e2e-create-request-1"
    assert found["task.updated"]["request_id"] == "e2e-update-request-1"
    assert found["task.updated"]["changes"] == {"priority": ["low", "high"]}
    assert found["task.updated"]["actor_id"] == owner.id
    stranger = api.account()
    outside = api.get(f"/api/activities?project_id={project['id']}", token=stranger.access_token)
    assert outside.status_code == 200 and outside.json()["items"] == []


def test_the_activity_log_records_who_from_as_nginx_saw_the_client(api, admin):
    owner, member, project = team(api)
    agent = "AuditProbe/1.0 (e2e; who-from)"
    created = api.post(
        f"/api/projects/{project['id']}/tasks",
        token=owner.access_token,
        json={"title": "Who did this?"},
        # Forged forwarding headers: only the address nginx saw counts.
        headers={
            "User-Agent": agent,
            "X-Forwarded-For": "203.0.113.66",
            "X-Real-IP": "203.0.113.67",
        },
    )
    assert created.status_code == 201, created.text
    query = f"/api/activities?project_id={project['id']}&action=task.created"

    def entry_seen_by(account) -> dict | None:
        response = api.get(query, token=account.access_token)
        assert response.status_code == 200, response.text
        items = response.json()["items"]
        return items[0] if items else None

    entry = wait_for(lambda: entry_seen_by(owner))
    assert (entry["ip"], entry["user_agent"]) == (api.source, agent)
    assert api.source != "127.0.0.1"  # the client's address, not nginx's own
    assert (entry_seen_by(admin)["ip"], entry_seen_by(admin)["user_agent"]) == (api.source, agent)
    assert (entry_seen_by(member)["ip"], entry_seen_by(member)["user_agent"]) == (None, None)
    export = api.get(f"/api/activities/export?project_id={project['id']}", token=admin.access_token)
    assert f"{api.source},{agent}" in export.text.replace('"', "")


def test_webhook_receives_a_correctly_signed_delivery(api, webhook_receiver):
    webhook_receiver.reset()
    owner, member, project = team(api)
    created = api.post(
        "/api/webhooks",
        token=owner.access_token,
        json={"url": webhook_receiver.url + "/hook", "event_types": ["task.assigned"]},
    )
    assert created.status_code == 201, created.text
    secret = created.json()["secret"]
    task = api.post(
        f"/api/projects/{project['id']}/tasks", token=owner.access_token, json={"title": "Hooked"}
    ).json()
    api.patch(f"/api/tasks/{task['id']}", token=owner.access_token, json={"assignee_id": member.id})
    [delivery] = wait_for(lambda: webhook_receiver.requests)
    headers = {k.lower(): v for k, v in delivery.headers.items()}
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.{delivery.body}"
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = base64.b64encode(hmac.new(key, signed.encode(), hashlib.sha256).digest()).decode()
    assert f"v1,{expected}" in headers["webhook-signature"].split()
    body = delivery.json()
    assert body["type"] == "task.assigned" and body["entity"] == {"type": "task", "id": task["id"]}
    assert "meta" not in body and api.source not in delivery.body  # who-from stays inside


def test_mention_notifies_the_mentioned_member_in_app_and_by_email(api, smtp):
    owner, member, project = team(api)
    task = api.post(
        f"/api/projects/{project['id']}/tasks",
        token=owner.access_token,
        json={"title": "Pick a logo"},
    ).json()
    comment = api.post(
        f"/api/tasks/{task['id']}/comments",
        token=owner.access_token,
        json={"content": f"@{member.username} which one do you like?"},
    )
    assert comment.status_code == 201, comment.text
    assert comment.json()["mentions"] == [member.id]
    [notice] = wait_for(lambda: notifications(api, member, "comment.mentioned"))
    assert "Pick a logo" in notice["title"] + notice["body"]
    mails = wait_for(lambda: [m for m in smtp.to(member.email) if "Pick a logo" in m["Subject"]])
    assert len(mails) == 1


def test_assignee_commenting_on_their_own_task_notifies_the_reporter_not_themselves(api, smtp):
    owner, member, project = team(api)
    task = api.post(
        f"/api/projects/{project['id']}/tasks",
        token=owner.access_token,
        json={"title": "Fix the footer", "assignee_id": member.id},
    ).json()
    wait_for(lambda: notifications(api, member, "task.assigned"))
    comment = api.post(
        f"/api/tasks/{task['id']}/comments",
        token=member.access_token,
        json={"content": "Done, please review."},
    )
    assert comment.status_code == 201, comment.text
    [notice] = wait_for(lambda: notifications(api, owner, "comment.created"))
    assert "Fix the footer" in notice["title"] + notice["body"]
    time.sleep(1.0)
    assert notifications(api, member, "comment.created") == []
    assert [m for m in smtp.to(member.email) if "comment" in m["Subject"].lower()] == []
