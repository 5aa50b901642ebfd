"""Webhooks: the API, who receives which event, Standard Webhooks signatures, and the
private-network guard (retries and auto-disable through a real worker: test_worker.py)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from sqlalchemy import select

from services.notification.models import WebhookDelivery
from tests.notification.conftest import envelope, task_data

PATH = "/api/webhooks"


def create_webhook(client, account, url, event_types=("task.assigned",), **fields):
    response = client.post(
        PATH,
        json={"url": url, "event_types": list(event_types), **fields},
        headers=account.headers,
    )
    assert response.status_code == 201, response.json
    return response.json


def assigned_event(actor, assignee, project_id=1):
    return envelope(
        "task.assigned",
        actor,
        data={"task": task_data(assignee_id=assignee.id)},
        changes={"assignee_id": [None, assignee.id]},
        project_id=project_id,
    )


@contextmanager
def private_targets_refused(app):
    app.config["WEBHOOK_ALLOW_PRIVATE"] = False
    try:
        yield
    finally:
        app.config["WEBHOOK_ALLOW_PRIVATE"] = True


def test_create_shows_the_secret_once(client, receiver, people):
    created = create_webhook(client, people.alice, receiver.url + "/hook")

    assert created["secret"].startswith("whsec_")
    assert len(base64.b64decode(created["secret"].removeprefix("whsec_"))) == 24
    assert created["is_active"] is True and created["failure_count"] == 0
    fetched = client.get(f"{PATH}/{created['id']}", headers=people.alice.headers)
    assert fetched.status_code == 200
    assert "secret" not in fetched.json
    assert "ETag" in fetched.headers


def test_webhooks_are_private_to_their_owner_and_admins(client, receiver, people):
    hook = create_webhook(client, people.alice, receiver.url)
    create_webhook(client, people.bob, receiver.url)

    assert client.get(f"{PATH}/{hook['id']}", headers=people.bob.headers).status_code == 404
    assert client.get(f"{PATH}/{hook['id']}", headers=people.root.headers).status_code == 200
    mine = client.get(PATH, headers=people.alice.headers).json
    assert [h["id"] for h in mine["items"]] == [hook["id"]]
    assert client.get(f"{PATH}?all=true", headers=people.alice.headers).status_code == 403
    assert client.get(f"{PATH}?all=true", headers=people.root.headers).json["total"] == 2
    response = client.patch(
        f"{PATH}/{hook['id']}", json={"is_active": False}, headers=people.bob.headers
    )
    assert response.status_code == 404


def test_patch_with_if_match_and_delete(client, receiver, people):
    hook = create_webhook(client, people.alice, receiver.url)
    path = f"{PATH}/{hook['id']}"
    etag = client.get(path, headers=people.alice.headers).headers["ETag"]

    changed = client.patch(
        path,
        json={"event_types": ["comment.created", "comment.created"], "description": "CI"},
        headers={**people.alice.headers, "If-Match": etag},
    )
    assert changed.status_code == 200
    assert changed.json["event_types"] == ["comment.created"]
    stale = client.patch(
        path, json={"is_active": False}, headers={**people.alice.headers, "If-Match": etag}
    )
    assert stale.status_code == 412
    assert client.delete(path, headers=people.alice.headers).status_code == 204
    assert client.get(path, headers=people.alice.headers).status_code == 404


def test_unknown_event_types_and_bad_urls_are_refused(client, receiver, people):
    for body in (
        {"url": receiver.url, "event_types": ["user.password_reset_requested"]},
        {"url": receiver.url, "event_types": []},
        {"url": "ftp://example.com/x", "event_types": ["task.assigned"]},
        {"url": "not a url", "event_types": ["task.assigned"]},
    ):
        response = client.post(PATH, json=body, headers=people.alice.headers)
        assert response.status_code == 422, body


def test_delivery_is_signed_per_standard_webhooks(
    client, app, jobs, receiver, project_task, people
):
    hook = create_webhook(client, people.alice, receiver.url + "/in")
    project_task.members[1] = [{"user_id": people.alice.id, "role": "member"}]
    event = assigned_event(people.bob, people.carol)

    jobs.consume(event)
    assert jobs.deliver_webhooks() == 1

    [received] = receiver.requests
    assert received.path == "/in"
    assert received.json() == event
    headers = {k.lower(): v for k, v in received.headers.items()}
    assert headers["webhook-id"] == event["event_id"]
    timestamp = headers["webhook-timestamp"]
    assert abs(int(timestamp) - time.time()) < 60
    key = base64.b64decode(hook["secret"].removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{timestamp}.{received.body}".encode()
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert headers["webhook-signature"] == f"v1,{expected}"
    assert "x-service-token" not in headers

    log = client.get(f"{PATH}/{hook['id']}/deliveries", headers=people.alice.headers).json
    [delivery] = log["items"]
    assert delivery["status"] == "delivered"
    assert (delivery["attempts"], delivery["response_status"]) == (1, 200)
    assert delivery["event_type"] == "task.assigned"


def test_the_callers_ip_and_user_agent_never_reach_a_webhook(
    client, jobs, receiver, project_task, database, people
):
    create_webhook(client, people.alice, receiver.url + "/in")
    project_task.members[1] = [{"user_id": people.alice.id, "role": "member"}]
    event = assigned_event(people.bob, people.carol)
    client_info = {"ip": "198.51.100.23", "user_agent": "Secret-Browser/1.0"}

    jobs.consume({**event, "meta": client_info})
    assert jobs.deliver_webhooks() == 1

    [received] = receiver.requests
    assert received.json() == event
    assert "198.51.100.23" not in received.body and "Secret-Browser" not in received.body
    with database() as session:
        [stored] = session.scalars(select(WebhookDelivery.payload))
        assert "meta" not in stored


def test_only_members_of_the_events_project_and_admins_receive_it(
    client, jobs, receiver, project_task, database, people
):
    member_hook = create_webhook(client, people.alice, receiver.url + "/alice")
    create_webhook(client, people.bob, receiver.url + "/bob")  # no member of project 1
    admin_hook = create_webhook(client, people.root, receiver.url + "/root")
    create_webhook(client, people.carol, receiver.url + "/carol", ["comment.created"])
    project_task.members[1] = [
        {"user_id": people.alice.id, "role": "viewer"},
        {"user_id": people.carol.id, "role": "member"},
    ]

    jobs.consume(assigned_event(people.carol, people.alice))

    with database() as session:
        targets = set(session.scalars(select(WebhookDelivery.webhook_id)))
    assert targets == {member_hook["id"], admin_hook["id"]}
    assert len([c for c in project_task.calls if "/members" in c]) == 1


def test_time_entries_reach_the_webhooks_subscribed_to_them_and_notify_nobody(
    client, jobs, receiver, project_task, people
):
    hook = create_webhook(client, people.alice, receiver.url + "/time", ["time_entry.created"])
    create_webhook(client, people.alice, receiver.url + "/tasks")  # task.assigned only
    project_task.members[1] = [{"user_id": people.alice.id, "role": "viewer"}]
    entry = {"id": 5, "task_id": 3, "user_id": people.bob.id, "minutes": 90, "billable": True}
    event = envelope(
        "time_entry.created",
        people.bob,
        data={"time_entry": entry},
        entity=("time_entry", 5),
        project_id=1,
    )

    jobs.consume(event)

    assert jobs.deliver_webhooks() == 1
    [received] = receiver.requests
    assert received.path == "/time" and received.json() == event
    log = client.get(f"{PATH}/{hook['id']}/deliveries", headers=people.alice.headers).json
    assert [d["event_type"] for d in log["items"]] == ["time_entry.created"]
    notices = client.get("/api/notifications", headers=people.alice.headers).json
    assert notices["total"] == 0


def test_password_reset_events_never_reach_webhooks(client, jobs, receiver, database, people):
    create_webhook(client, people.root, receiver.url, ["task.assigned", "comment.created"])

    jobs.consume(
        envelope(
            "user.password_reset_requested",
            people.root,
            data={"email": people.root.email, "reset_token": "secret-token"},
            entity=("user", people.root.id),
            project_id=None,
        )
    )

    with database() as session:
        assert session.scalars(select(WebhookDelivery)).all() == []


def test_the_test_endpoint_sends_a_signed_test_event(client, jobs, receiver, people):
    hook = create_webhook(client, people.alice, receiver.url)

    response = client.post(f"{PATH}/{hook['id']}/test", headers=people.alice.headers)

    assert response.status_code == 202
    assert response.json["event_type"] == "webhook.test"
    jobs.deliver_webhooks()
    [received] = receiver.requests
    assert received.json()["type"] == "webhook.test"
    assert received.json()["actor"]["id"] == people.alice.id


def test_a_reenabled_webhook_starts_with_a_clean_record(client, database, receiver, people):
    from services.notification.models import Webhook
    from services.notification.webhooks.signing import new_secret

    with database() as session:
        hook = Webhook(
            owner_id=people.alice.id,
            url=receiver.url,
            secret=new_secret(),
            event_types=["task.assigned"],
            is_active=False,
            failure_count=5,
        )
        session.add(hook)
        session.commit()
        hook_id = hook.id
    assert client.post(f"{PATH}/{hook_id}/test", headers=people.alice.headers).status_code == 409

    response = client.patch(
        f"{PATH}/{hook_id}", json={"is_active": True}, headers=people.alice.headers
    )

    assert response.json["is_active"] is True
    assert response.json["failure_count"] == 0 and response.json["disabled_at"] is None


# Every address a webhook must not reach: no global route, or one carried inside an
# IPv6 address. Each is given literally, so the real resolver answers it as it is.
NON_GLOBAL_ADDRESSES = [
    "127.0.0.1",
    "10.1.2.3",
    "172.16.5.4",
    "192.168.0.10",
    "169.254.169.254",  # link-local: cloud metadata
    "100.64.0.1",  # shared address space: some clouds' metadata
    "100.100.100.200",  # shared address space: Alibaba Cloud's metadata
    "100.127.255.254",
    "0.0.0.0",
    "0.1.2.3",
    "192.0.0.8",  # IETF protocol assignments
    "192.0.2.10",  # documentation
    "198.51.100.7",
    "203.0.113.9",
    "198.18.0.1",  # benchmarking
    "198.19.255.254",
    "224.0.0.1",  # multicast
    "239.255.255.250",
    "240.0.0.1",  # reserved
    "255.255.255.255",
    "[::1]",
    "[::]",
    "[::ffff:127.0.0.1]",  # IPv4-mapped
    "[::ffff:100.64.0.1]",
    "[::ffff:a9fe:a9fe]",
    "[::100.64.0.1]",  # IPv4-compatible
    "[::ffff:0:a00:1]",  # IPv4-translated
    "[64:ff9b::a9fe:a9fe]",  # NAT64 of 169.254.169.254
    "[64:ff9b::6440:1]",  # NAT64 of 100.64.0.1
    "[64:ff9b:1::a00:1]",  # local-use NAT64
    "[2002:a9fe:a9fe::1]",  # 6to4 of 169.254.169.254
    "[2002:6440:1::1]",  # 6to4 of 100.64.0.1
    "[2002:c0a8:1::1]",  # 6to4 of 192.168.0.1
    "[2001:0:4136:e378:8000:63bf:f5ff:fffe]",  # Teredo, client 10.0.0.1
    "[2001:db8::1]",  # documentation
    "[3fff::1]",
    "[fc00::1]",  # unique local
    "[fd12:3456::1]",
    "[fe80::1]",  # link-local
    "[fec0::1]",  # site-local
    "[ff02::1]",  # multicast
    "[ff0e::1]",
    "[100::1]",  # discard-only
]


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost/hook",
        "http://2130706433/hook",  # 127.0.0.1 as one number
        "http://0x7f.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://127.0.0.1:9/hook",
        *(f"https://{address}/hook" for address in NON_GLOBAL_ADDRESSES),
    ],
)
def test_non_global_targets_are_refused_unless_allowed(client, app, people, url):
    with private_targets_refused(app):
        response = client.post(
            PATH, json={"url": url, "event_types": ["task.assigned"]}, headers=people.alice.headers
        )
    assert response.status_code == 422, response.json
    assert "url" in response.json["errors"]
    assert client.get(PATH, headers=people.alice.headers).json["total"] == 0


@pytest.mark.parametrize("address", ["100.64.0.1", "[64:ff9b::a9fe:a9fe]", "[2002:6440:1::1]"])
def test_a_webhook_cannot_be_moved_to_a_non_global_address(client, app, people, address):
    with private_targets_refused(app):
        hook = create_webhook(client, people.alice, "https://93.184.215.14/hook")
        response = client.patch(
            f"{PATH}/{hook['id']}",
            json={"url": f"https://{address}/hook"},
            headers=people.alice.headers,
        )
    assert response.status_code == 422
    current = client.get(f"{PATH}/{hook['id']}", headers=people.alice.headers).json
    assert current["url"] == "https://93.184.215.14/hook"


@pytest.mark.parametrize(
    "url",
    [
        "https://93.184.215.14/hook",
        "https://[2606:4700:4700::1111]/hook",
        "https://[2002:5db8:d70e::1]/hook",  # 6to4 of a public address
    ],
)
def test_global_addresses_are_accepted(client, app, people, url):
    with private_targets_refused(app):
        response = client.post(
            PATH, json={"url": url, "event_types": ["task.assigned"]}, headers=people.alice.headers
        )
    assert response.status_code == 201, response.json


def test_delivery_to_a_private_address_is_refused_at_send_time(
    client, app, jobs, receiver, project_task, database, people
):
    hook = create_webhook(client, people.root, receiver.url)
    jobs.consume(assigned_event(people.alice, people.bob))

    with private_targets_refused(app):
        jobs.deliver_webhooks()

    assert receiver.requests == [] and receiver.failed == 0
    with database() as session:
        delivery = session.scalar(select(WebhookDelivery))
        assert delivery.status == "failed"
        assert delivery.last_error.startswith("Refused")
    hook_now = client.get(f"{PATH}/{hook['id']}", headers=people.root.headers).json
    assert hook_now["failure_count"] == 1
    with private_targets_refused(app):
        response = client.patch(
            f"{PATH}/{hook['id']}", json={"url": receiver.url + "/x"}, headers=people.root.headers
        )
    assert response.status_code == 422


def test_webhooks_stop_at_the_cap_even_when_registered_at_once(
    app, client, receiver, people, monkeypatch
):
    limit = 5
    monkeypatch.setitem(app.config, "WEBHOOKS_MAX_PER_USER", limit)
    start = threading.Barrier(limit + 5)
    body = {"url": receiver.url + "/many", "event_types": ["task.assigned"]}

    def post(_):
        each = app.test_client()
        start.wait()
        return each.post(PATH, json=body, headers=people.carol.headers)

    with ThreadPoolExecutor(max_workers=limit + 5) as pool:
        responses = list(pool.map(post, range(limit + 5)))

    assert sorted(r.status_code for r in responses) == [201] * limit + [409] * 5
    refused = next(r for r in responses if r.status_code == 409)
    assert refused.mimetype == "application/problem+json"
    assert refused.json["code"] == "too_many_webhooks"
    assert client.get(PATH, headers=people.carol.headers).json["total"] == limit
    assert client.post(PATH, json=body, headers=people.bob.headers).status_code == 201
    kept = next(r for r in responses if r.status_code == 201).json["id"]
    assert client.delete(f"{PATH}/{kept}", headers=people.carol.headers).status_code == 204
    assert client.post(PATH, json=body, headers=people.carol.headers).status_code == 201


def test_thread_and_reaction_events_reach_the_webhooks_subscribed_to_them(
    client, jobs, receiver, project_task, people
):
    kinds = ("comment.replied", "comment.reaction_added", "comment.reaction_removed")
    create_webhook(client, people.alice, receiver.url + "/comments", event_types=kinds)
    project_task.members[1] = [{"user_id": people.alice.id, "role": "member"}]
    comment = {"id": 5, "task_id": 1, "author_id": people.bob.id, "content": "Hi"}
    events = [
        envelope(
            kind,
            people.bob,
            data={"comment": comment, "task": task_data(), "reaction": "eyes"},
            entity=("comment", 5),
        )
        for kind in (*kinds, "comment.updated")
    ]

    for event in events:
        jobs.consume(event)
    assert jobs.deliver_webhooks() == 3

    assert sorted(r.json()["type"] for r in receiver.requests) == sorted(kinds)
