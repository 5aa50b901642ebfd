"""Time entries: logging time on a task (who, which days, at most 24 hours a day, also
under concurrent requests), the lists with their filters, changing and deleting, the
task's spent_minutes and the time_entry.* events."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import requests
from werkzeug.serving import make_server

from services.project_task.fields import latest_day

PROBLEM = "application/problem+json"


def today():
    return datetime.now(UTC).date()


def day(offset: int = 0) -> str:
    return (today() + timedelta(days=offset)).isoformat()


def log(client, task: dict, account, expected: int = 201, **fields):
    body = {"spent_on": day(), "minutes": 30, **fields}
    response = client.post(
        f"/api/tasks/{task['id']}/time-entries", json=body, headers=account.headers
    )
    assert response.status_code == expected, response.json
    return response


def spent(client, task: dict, account) -> int:
    return client.get(f"/api/tasks/{task['id']}", headers=account.headers).json["spent_minutes"]


def test_logging_time_answers_201_with_location_event_and_the_tasks_spent_minutes(
    client, factory, people, outbox
):
    project = factory.team()
    task = factory.task(project)
    before = client.get(f"/api/tasks/{task['id']}", headers=people.member.headers)
    assert before.json["spent_minutes"] == 0

    response = log(client, task, people.member, minutes=90, note="Spec review", billable=True)

    entry = response.json
    assert response.headers["Location"] == f"/api/time-entries/{entry['id']}"
    assert {k: entry[k] for k in ("task_id", "project_id", "user_id", "spent_on")} == {
        "task_id": task["id"],
        "project_id": project["id"],
        "user_id": people.member.id,
        "spent_on": day(),
    }
    assert (entry["minutes"], entry["note"], entry["billable"]) == (90, "Spec review", True)
    got = client.get(response.headers["Location"], headers=people.viewer.headers)
    assert got.json == entry and got.headers["ETag"] == response.headers["ETag"]
    log(client, task, people.admin, minutes=15)
    after = client.get(f"/api/tasks/{task['id']}", headers=people.member.headers)
    assert after.json["spent_minutes"] == 105
    # Time logged is no edit of the task: its updated_at stays.
    assert after.json["updated_at"] == before.json["updated_at"]
    listed = client.get(f"/api/projects/{project['id']}/tasks", headers=people.viewer.headers)
    assert [t["spent_minutes"] for t in listed.json["items"]] == [105]
    [created, _] = outbox("time_entry.created")
    assert created["entity"] == {"type": "time_entry", "id": entry["id"]}
    assert created["project_id"] == project["id"]
    assert created["actor"]["id"] == people.member.id
    assert created["data"]["time_entry"] == entry


def test_the_same_idempotency_key_logs_once(client, factory, people):
    task = factory.task(factory.team())
    url = f"/api/tasks/{task['id']}/time-entries"
    headers = {**people.member.headers, "Idempotency-Key": "log-once"}
    body = {"spent_on": day(), "minutes": 45}
    first = client.post(url, json=body, headers=headers)
    again = client.post(url, json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true" and again.json == first.json
    assert spent(client, task, people.member) == 45


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"minutes": 0}, "minutes"),
        ({"minutes": -30}, "minutes"),
        ({"minutes": 1441}, "minutes"),
        ({"minutes": "30"}, "minutes"),
        ({"minutes": 1.5}, "minutes"),
        ({"spent_on": "later"}, "spent_on"),
        ({"spent_on": f"{day()}T10:00:00+00:00"}, "spent_on"),
        ({"spent_on": day(2)}, "spent_on"),
        ({"spent_on": "1969-12-31"}, "spent_on"),
        ({"note": "x" * 2001}, "note"),
        ({"project_id": 1}, "project_id"),
    ],
)
def test_bad_input_is_422_problem_json_and_logs_nothing(client, factory, people, fields, field):
    task = factory.task(factory.team())
    response = log(client, task, people.member, expected=422, **fields)
    assert response.mimetype == PROBLEM
    assert response.json["code"] == "validation_error" and field in response.json["errors"]
    entries = client.get(f"/api/tasks/{task['id']}/time-entries", headers=people.member.headers)
    assert entries.json["total"] == 0 and spent(client, task, people.member) == 0


def test_any_local_today_is_allowed_but_no_day_still_to_come_anywhere(client, factory, people):
    task = factory.task(factory.team())
    latest = latest_day()  # today in UTC+14: today or tomorrow in UTC
    assert latest - today() in (timedelta(0), timedelta(days=1))
    log(client, task, people.member, spent_on=latest.isoformat())
    log(client, task, people.member, spent_on=day(-400))
    late = log(client, task, people.member, 422, spent_on=(latest + timedelta(days=1)).isoformat())
    assert "spent_on" in late.json["errors"]


def test_a_user_logs_at_most_24_hours_a_day_across_all_their_entries(client, factory, people):
    one, other = factory.team(), factory.team()
    task, elsewhere = factory.task(one), factory.task(other)
    log(client, task, people.member, minutes=1000)
    last = log(client, elsewhere, people.member, minutes=440).json

    over = log(client, task, people.member, 422, minutes=1)

    assert over.mimetype == PROBLEM and over.json["code"] == "daily_limit_exceeded"
    assert "minutes" in over.json["errors"] and "1440" in over.json["detail"]
    assert spent(client, task, people.member) == 1000
    log(client, task, people.member, minutes=1440, spent_on=day(-1))  # another day
    log(client, task, people.admin, minutes=1440)  # another user
    # An edit is checked without the entry's own minutes, on the day it moves to.
    url = f"/api/time-entries/{last['id']}"
    shrink = client.patch(url, json={"minutes": 400}, headers=people.member.headers)
    assert shrink.status_code == 200
    grow = client.patch(url, json={"minutes": 441}, headers=people.member.headers)
    assert grow.status_code == 422 and grow.json["code"] == "daily_limit_exceeded"
    moved = client.patch(url, json={"spent_on": day(-1)}, headers=people.member.headers)
    assert moved.status_code == 422
    moved = client.patch(url, json={"spent_on": day(-2)}, headers=people.member.headers)
    assert moved.status_code == 200
    assert spent(client, elsewhere, people.member) == 400


@pytest.fixture
def served(app):
    """The app served by a threaded HTTP server: requests that really run at once."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_concurrent_entries_cannot_pass_the_daily_limit_together(served, factory, people):
    project = factory.team()
    tasks = [factory.task(project) for _ in range(4)]
    body = {"spent_on": day(), "minutes": 500}

    def post(task: dict) -> int:
        response = requests.post(
            f"{served}/api/tasks/{task['id']}/time-entries",
            json=body,
            headers=people.member.headers,
            timeout=30,
        )
        return response.status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(post, [tasks[n % 4] for n in range(8)]))

    assert sorted(statuses) == [201, 201] + [422] * 6, statuses
    mine = requests.get(
        f"{served}/api/time-entries",
        params={"user_id": "me", "since": day(), "until": day()},
        headers=people.member.headers,
        timeout=10,
    ).json()
    assert mine["total"] == 2 and sum(e["minutes"] for e in mine["items"]) == 1000
    spent_minutes = [
        requests.get(
            f"{served}/api/tasks/{t['id']}", headers=people.member.headers, timeout=10
        ).json()["spent_minutes"]
        for t in tasks
    ]
    assert sum(spent_minutes) == 1000


def test_members_log_time_and_nobody_else_does(client, factory, people):
    task = factory.task(factory.team())
    for account in (people.member, people.admin, people.owner):
        log(client, task, account)
    viewer = log(client, task, people.viewer, 403)
    assert viewer.mimetype == PROBLEM and viewer.json["code"] == "forbidden"
    stranger = log(client, task, people.stranger, 404)
    assert stranger.mimetype == PROBLEM and stranger.json["code"] == "not_found"
    # A global admin who is no member moderates time but does not log it there.
    assert log(client, task, people.root, 403).json["code"] == "forbidden"
    assert log(client, {"id": 999_999}, people.member, 404).json["code"] == "not_found"


def test_lists_filter_sort_and_paginate(client, factory, people):
    project = factory.team()
    first, second = factory.task(project), factory.task(project)
    log(client, first, people.member, minutes=10, spent_on=day(-3))
    log(client, first, people.member, minutes=20, spent_on=day(-1), billable=True)
    log(client, second, people.admin, minutes=30, spent_on=day(-2))
    log(client, second, people.member, minutes=40, spent_on=day())
    mine_elsewhere = factory.task(factory.project(owner=people.member), by=people.member)
    log(client, mine_elsewhere, people.member, minutes=50, spent_on=day())

    def minutes(url: str, account=people.member, **params) -> list[int]:
        response = client.get(url, headers=account.headers, query_string=params)
        assert response.status_code == 200, response.json
        return [entry["minutes"] for entry in response.json["items"]]

    task_url = f"/api/tasks/{first['id']}/time-entries"
    assert minutes(task_url) == [20, 10]  # newest day first
    assert minutes(task_url, people.viewer, sort="spent_on") == [10, 20]
    assert minutes("/api/time-entries", project_id=project["id"]) == [40, 20, 30, 10]
    assert minutes("/api/time-entries", user_id="me", sort="minutes") == [10, 20, 40, 50]
    assert minutes("/api/time-entries", user_id=people.admin.id) == [30]
    assert minutes("/api/time-entries", since=day(-2), until=day(-1)) == [20, 30]
    assert minutes("/api/time-entries", billable="true") == [20]
    assert minutes("/api/time-entries", task_id=second["id"]) == [40, 30]
    assert minutes("/api/time-entries", people.viewer) == [40, 20, 30, 10]
    assert minutes("/api/time-entries", people.stranger) == []
    assert len(minutes("/api/time-entries", people.root, all="true")) == 5
    page = client.get(
        "/api/time-entries", headers=people.member.headers, query_string={"per_page": 2}
    )
    assert page.json["total"] == 5 and page.json["pages"] == 3
    assert 'rel="next"' in page.headers["Link"]
    refused = client.get("/api/time-entries?all=true", headers=people.member.headers)
    assert refused.status_code == 403
    hidden = client.get(task_url, headers=people.stranger.headers)
    assert hidden.status_code == 404 and hidden.mimetype == PROBLEM
    bad = client.get("/api/time-entries?user_id=you&sort=title", headers=people.member.headers)
    assert bad.status_code == 422 and {"user_id", "sort"} <= set(bad.json["errors"])


def test_the_author_and_project_admins_change_and_delete_an_entry(client, factory, people, outbox):
    task = factory.task(factory.team())
    entry = log(client, task, people.member, minutes=60).json
    url = f"/api/time-entries/{entry['id']}"

    for account, status in (
        (people.viewer, 403),
        (people.owner, 200),
        (people.stranger, 404),
    ):
        response = client.patch(url, json={"note": "checked"}, headers=account.headers)
        assert response.status_code == status, account
    others = log(client, task, people.admin, minutes=5).json
    refused = client.patch(
        f"/api/time-entries/{others['id']}", json={"note": "mine"}, headers=people.member.headers
    )
    assert refused.status_code == 403 and refused.mimetype == PROBLEM

    current = client.get(url, headers=people.member.headers)
    stale = client.patch(
        url, json={"minutes": 75}, headers={**people.member.headers, "If-Match": '"stale"'}
    )
    assert stale.status_code == 412 and stale.headers["ETag"] == current.headers["ETag"]
    changed = client.patch(
        url,
        json={"minutes": 75, "billable": True},
        headers={**people.member.headers, "If-Match": current.headers["ETag"]},
    )
    assert changed.status_code == 200 and changed.json["minutes"] == 75
    assert spent(client, task, people.member) == 80
    [_, updated] = outbox("time_entry.updated")
    assert updated["changes"]["minutes"] == [60, 75]
    assert updated["changes"]["billable"] == [False, True]

    assert client.delete(url, headers=people.viewer.headers).status_code == 403
    root = client.patch(url, json={"note": "moderated"}, headers=people.root.headers)
    assert root.status_code == 200
    assert client.delete(url, headers=people.member.headers).status_code == 204
    assert client.get(url, headers=people.member.headers).status_code == 404
    assert spent(client, task, people.member) == 5
    [deleted] = outbox("time_entry.deleted")
    assert deleted["entity"] == {"type": "time_entry", "id": entry["id"]}


def test_deleting_a_task_or_project_deletes_its_time(client, factory, people):
    project = factory.team()
    task, other = factory.task(project), factory.task(project)
    entry = log(client, task, people.member, minutes=1440).json
    log(client, other, people.member, minutes=30, spent_on=day(-1))

    deleted = client.delete(f"/api/tasks/{task['id']}", headers=people.owner.headers)

    assert deleted.status_code == 204
    gone = client.get(f"/api/time-entries/{entry['id']}", headers=people.member.headers)
    assert gone.status_code == 404
    log(client, other, people.member, minutes=1440)  # the day has room again
    gone = client.delete(f"/api/projects/{project['id']}", headers=people.owner.headers)
    assert gone.status_code == 204
    assert client.get("/api/time-entries", headers=people.member.headers).json["total"] == 0
