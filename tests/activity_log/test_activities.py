"""The activity feed: filters, the cursor, who sees what; stats and the CSV export."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, time, timedelta

import pytest

from services.activity_log.activities import resources
from services.activity_log.models import DailySummary

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def feed(client, account, **params):
    response = client.get("/api/activities", query_string=params, headers=account.headers)
    assert response.status_code == 200, response.json
    return response.json


def ids(body) -> list[int]:
    return [item["id"] for item in body["items"]]


@pytest.fixture
def history(consume, envelope, people):
    """Six entries across two projects and none, by admin, member and stranger."""
    made = {
        "p1_admin": envelope(
            "task.created",
            actor=people.admin,
            entity=("task", 11),
            project_id=1,
            occurred_at=T0,
            changes={"title": [None, "One"]},
        ),
        "p1_member": envelope(
            "task.updated",
            actor=people.member,
            entity=("task", 11),
            project_id=1,
            occurred_at=T0 + timedelta(minutes=1),
        ),
        "p2_admin": envelope(
            "task.created",
            actor=people.admin,
            entity=("task", 21),
            project_id=2,
            occurred_at=T0 + timedelta(minutes=2),
        ),
        "p2_stranger": envelope(
            "comment.created",
            actor=people.stranger,
            entity=("comment", 5),
            project_id=2,
            occurred_at=T0 + timedelta(minutes=3),
        ),
        "stranger_login": envelope(
            "user.login",
            actor=people.stranger,
            entity=("user", people.stranger.id),
            occurred_at=T0 + timedelta(minutes=4),
        ),
        "admin_login": envelope(
            "user.login",
            actor=people.admin,
            entity=("user", people.admin.id),
            occurred_at=T0 + timedelta(minutes=5),
        ),
    }
    consume(*made.values())
    return made


def event_ids(body) -> set[str]:
    return {item["event_id"] for item in body["items"]}


def of(history, *names) -> set[str]:
    return {history[name]["event_id"] for name in names}


def test_anonymous_callers_get_401(client):
    response = client.get("/api/activities")
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_entries_show_actor_entity_changes_and_request_id(client, people, consume, envelope):
    event = envelope(
        "task.status_changed",
        actor=people.admin,
        entity=("task", 4),
        project_id=9,
        changes={"status": ["todo", "in_progress"]},
        request_id="req-abcdef12",
    )
    consume(event)

    [item] = feed(client, people.admin)["items"]
    assert item == {
        "id": item["id"],
        "event_id": event["event_id"],
        "action": "task.status_changed",
        "actor_id": people.admin.id,
        "actor_username": people.admin.username,
        "entity_type": "task",
        "entity_id": 4,
        "project_id": 9,
        "changes": {"status": ["todo", "in_progress"]},
        "data": {},
        "request_id": "req-abcdef12",
        "ip": None,
        "user_agent": None,
        "occurred_at": event["occurred_at"],
        "created_at": item["created_at"],
    }


def test_admins_see_everything_newest_first(client, people, history):
    body = feed(client, people.admin)
    assert [item["event_id"] for item in body["items"]] == [
        e["event_id"] for e in reversed(history.values())
    ]
    assert body["next_cursor"] is None


def test_members_see_their_projects_and_their_own_actions(client, people, history, project_task):
    project_task.add_member(people.member.id, 1)

    assert event_ids(feed(client, people.member)) == of(history, "p1_admin", "p1_member")


def test_strangers_see_only_their_own_actions(client, people, history, project_task):
    project_task.add_member(people.member.id, 2)  # someone else's membership

    assert event_ids(feed(client, people.stranger)) == of(history, "p2_stranger", "stranger_login")
    # Filtering on a project they are no member of reveals nobody else's entries.
    assert event_ids(feed(client, people.stranger, project_id=2)) == of(history, "p2_stranger")
    assert feed(client, people.stranger, project_id=1)["items"] == []


def test_without_memberships_the_feed_answers_503_not_less(client, people, history, project_task):
    project_task.failing = True

    response = client.get("/api/activities", headers=people.member.headers)

    assert response.status_code == 503
    assert response.json["code"] == "service_unavailable"
    assert "Retry-After" in response.headers
    # Admins need no memberships.
    assert len(feed(client, people.admin)["items"]) == len(history)


def test_who_from_is_shown_to_admins_and_to_the_actor_only(
    client, people, consume, envelope, project_task
):
    project_task.add_member(people.member.id, 1)
    project_task.add_member(people.stranger.id, 1)
    event = envelope("task.updated", actor=people.stranger, entity=("task", 3), project_id=1)
    consume({**event, "meta": {"ip": "2001:db8::7", "user_agent": "=Stranger-Agent/1"}})

    def who_from(account) -> list[tuple]:
        return [(item["ip"], item["user_agent"]) for item in feed(client, account)["items"]]

    assert who_from(people.admin) == [("2001:db8::7", "=Stranger-Agent/1")]
    assert who_from(people.stranger) == [("2001:db8::7", "=Stranger-Agent/1")]
    assert who_from(people.member) == [(None, None)]  # a fellow member sees the entry only
    response = client.get("/api/activities/export", headers=people.admin.headers)
    [row] = csv.DictReader(io.StringIO(response.get_data(as_text=True)))
    assert (row["ip"], row["user_agent"]) == ("2001:db8::7", "'=Stranger-Agent/1")


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"project_id": 1}, ("p1_admin", "p1_member")),
        ({"entity_type": "task", "entity_id": 11}, ("p1_admin", "p1_member")),
        ({"entity_type": "comment"}, ("p2_stranger",)),
        ({"action": "task.created"}, ("p1_admin", "p2_admin")),
        ({"action": "task.created", "project_id": 2}, ("p2_admin",)),
        (
            {"since": (T0 + timedelta(minutes=2)).isoformat()},
            ("p2_admin", "p2_stranger", "stranger_login", "admin_login"),
        ),
        ({"until": (T0 + timedelta(minutes=1)).isoformat()}, ("p1_admin",)),
        (
            {"since": "2026-03-02T13:01:00+01:00", "until": "2026-03-02T12:03:00Z"},
            ("p1_member", "p2_admin"),
        ),
    ],
)
def test_filters(client, people, history, params, expected):
    assert event_ids(feed(client, people.admin, **params)) == of(history, *expected)


def test_filter_by_actor(client, people, history):
    assert event_ids(feed(client, people.admin, actor_id=people.stranger.id)) == of(
        history, "p2_stranger", "stranger_login"
    )


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "2026-03-02T12:00:00"}, "since"),
        ({"until": "2026-03-02"}, "until"),
        ({"since": "2026-03-02T12:00:00Z", "until": "2026-03-01T12:00:00Z"}, "until"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"limit": 201}, "limit"),
        ({"limit": 0}, "limit"),
        ({"project_id": "x"}, "project_id"),
    ],
)
def test_invalid_arguments_are_422(client, people, params, field):
    response = client.get("/api/activities", query_string=params, headers=people.admin.headers)
    assert response.status_code == 422
    assert response.json["code"] == "validation_error"
    assert field in response.json["errors"]


def test_cursor_pages_have_no_duplicates_or_gaps_with_equal_times(
    client, people, consume, envelope
):
    same_time = [
        envelope("task.updated", actor=people.admin, entity=("task", n), occurred_at=T0)
        for n in range(7)
    ]
    others = [
        envelope("task.updated", actor=people.admin, entity=("task", 100 + n), occurred_at=t)
        for n, t in enumerate((T0 - timedelta(seconds=1), T0 + timedelta(seconds=1)))
    ]
    consume(*same_time, *others)
    everything = feed(client, people.admin, limit=200)["items"]
    expected = sorted(everything, key=lambda i: (i["occurred_at"], i["id"]), reverse=True)
    assert everything == expected and len(everything) == 9

    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 2} if cursor is None else {"limit": 2, "cursor": cursor}
        body = feed(client, people.admin, **params)
        seen += ids(body)
        pages += 1
        if pages == 2:
            # A newer entry arriving mid-walk does not shift the pages still to come.
            consume(envelope("task.updated", actor=people.admin, entity=("task", 999)))
        cursor = body["next_cursor"]
        if cursor is None:
            break

    assert pages == 5
    assert seen == [item["id"] for item in expected]


def test_stats_count_by_action_and_day_including_summaries(client, people, consume, envelope):
    today = datetime.now(UTC).date()
    now = datetime.combine(today, time(12), UTC)  # never across midnight from the API's today
    consume(
        envelope("task.created", actor=people.admin, entity=("task", 1), occurred_at=now),
        envelope("task.created", actor=people.admin, entity=("task", 2), occurred_at=now),
        envelope(
            "task.updated",
            actor=people.admin,
            entity=("task", 1),
            occurred_at=now - timedelta(days=2),
        ),
        envelope(
            "task.updated",
            actor=people.admin,
            entity=("task", 1),
            occurred_at=now - timedelta(days=30),
        ),
    )
    with client.application.app_context():
        from services.activity_log.extensions import db

        db.session.add_all(
            [
                DailySummary(day=today - timedelta(days=5), action="task.created", count=4),
                DailySummary(
                    day=today - timedelta(days=5), action="task.created", project_id=3, count=1
                ),
                DailySummary(day=today - timedelta(days=9), action="task.created", count=50),
            ]
        )
        db.session.commit()

    response = client.get("/api/activities/stats?days=7", headers=people.admin.headers)

    assert response.status_code == 200
    body = response.json
    assert body["days"] == 7
    assert body["since"] == f"{today - timedelta(days=6)}T00:00:00+00:00"
    assert body["total"] == 8
    assert body["by_action"] == [
        {"action": "task.created", "count": 7},
        {"action": "task.updated", "count": 1},
    ]
    by_day = {date.fromisoformat(d["day"]): d["count"] for d in body["by_day"]}
    assert len(body["by_day"]) == 7 and min(by_day) == today - timedelta(days=6)
    assert by_day[today] == 2
    assert by_day[today - timedelta(days=2)] == 1
    assert by_day[today - timedelta(days=5)] == 5
    assert sum(by_day.values()) == 8


def test_stats_are_for_admins_and_at_most_a_year(client, people):
    response = client.get("/api/activities/stats", headers=people.member.headers)
    assert response.status_code == 403
    response = client.get("/api/activities/stats?days=366", headers=people.admin.headers)
    assert response.status_code == 422
    assert "days" in response.json["errors"]
    response = client.get("/api/activities/stats?days=365", headers=people.admin.headers)
    assert response.status_code == 200 and len(response.json["by_day"]) == 365


def test_export_streams_every_matching_entry_as_csv(client, people, history, monkeypatch):
    monkeypatch.setattr(resources, "EXPORT_BATCH", 2)  # several batches from the database

    response = client.get("/api/activities/export?format=csv", headers=people.admin.headers)

    assert response.status_code == 200
    assert response.is_streamed
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [row["event_id"] for row in rows] == [e["event_id"] for e in reversed(history.values())]
    first = rows[-1]
    assert first["action"] == "task.created"
    assert first["project_id"] == "1"
    assert first["actor_username"] == people.admin.username
    assert json.loads(first["changes"]) == {"title": [None, "One"]}
    assert first["occurred_at"] == T0.isoformat()
    assert first["ip"] == ""


def test_export_takes_the_list_filters(client, people, history):
    response = client.get(
        "/api/activities/export", query_string={"project_id": 2}, headers=people.admin.headers
    )
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert {row["event_id"] for row in rows} == of(history, "p2_admin", "p2_stranger")


def test_export_cells_cannot_become_spreadsheet_formulas(client, people, consume, envelope):
    event = envelope("task.created", actor=people.admin, entity=("task", 1))
    event["actor"]["username"] = "=HYPERLINK(1)"
    consume(event)

    response = client.get("/api/activities/export", headers=people.admin.headers)

    [row] = csv.DictReader(io.StringIO(response.get_data(as_text=True)))
    assert row["actor_username"] == "'=HYPERLINK(1)"


def test_export_is_for_admins_in_csv_only(client, people):
    response = client.get("/api/activities/export", headers=people.member.headers)
    assert response.status_code == 403
    response = client.get("/api/activities/export?format=json", headers=people.admin.headers)
    assert response.status_code == 422
    assert "format" in response.json["errors"]
    assert client.get("/api/activities/export").status_code == 401
