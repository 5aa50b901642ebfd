"""The live-update log (services/common/live_log.py) on a real Redis: where an event is
written, under which id, what it shows, and how the bounds are kept and detected."""

from __future__ import annotations

import json
import uuid

import redis

from services.common import live_log


def envelope(kind: str = "task.updated", *, project_id: int | None = 3, actor: int = 7, **extra):
    return {
        "event_id": str(uuid.uuid4()),
        "type": kind,
        "occurred_at": "2026-11-21T09:30:12+00:00",
        "actor": {"id": actor, "username": "alice"},
        "project_id": project_id,
        "entity": {"type": "task", "id": 42},
        "data": {},
        "changes": {},
        "request_id": "r1",
        **extra,
    }


def entries(live_redis: redis.Redis, key: str) -> list[tuple[str, dict]]:
    return [
        (entry_id.decode(), json.loads(fields[b"event"]))
        for entry_id, fields in live_redis.xrange(key)
    ]


def test_an_event_goes_to_the_platform_its_project_and_its_accounts_under_one_id(live_redis):
    event = envelope("project.member_removed", data={"user_id": 9, "role": "member"})
    entry_id = live_log.append(live_redis, event, 100, 3600)
    for key in ("live:all", "live:project:3", "live:user:7", "live:user:9"):
        assert entries(live_redis, key) == [(entry_id, event)], key
    assert live_redis.exists("live:project:4", "live:user:8") == 0


def test_who_an_event_concerns():
    assert live_log.account_ids(envelope()) == {7}
    user = envelope("user.updated", project_id=None, entity={"type": "user", "id": 5})
    assert live_log.account_ids(user) == {7, 5}
    report = envelope("report.completed", actor=None, data={"requester_id": 11})
    report["actor"] = None
    assert live_log.account_ids(report) == {11}
    assert live_log.account_ids(envelope(data={"user_id": True})) == {7}


def test_secrets_and_the_clients_address_stay_out(live_redis):
    event = envelope(
        "user.password_reset_requested",
        project_id=None,
        data={"email": "a@example.com", "reset_token": "s3cret", "meta": {"ip": "10.0.0.1"}},
        meta={"ip": "10.0.0.1", "user_agent": "curl"},
    )
    live_log.append(live_redis, event, 100, 3600)
    [(_, shown)] = entries(live_redis, "live:user:7")
    assert shown["data"] == {"email": "a@example.com", "reset_token": "[redacted]"}
    assert "meta" not in shown
    assert b"s3cret" not in b"".join(
        live_redis.dump(k) or b"" for k in live_redis.scan_iter("live:*")
    )


def test_ids_grow_in_order_and_each_log_keeps_its_bound(live_redis):
    ids = [live_log.append(live_redis, envelope(), 3, 3600) for _ in range(5)]
    parsed = [live_log.parse_id(i) for i in ids]
    assert parsed == sorted(parsed) and len(set(parsed)) == 5
    assert [i for i, _ in entries(live_redis, "live:project:3")] == ids[2:]
    # The newest entry the bound dropped is remembered: a resume after it misses nothing,
    # one before it would.
    assert live_redis.get("live:project:3:trimmed").decode() == ids[1]
    assert live_log.gap_after(live_redis, ["live:project:3"], parsed[0])
    assert not live_log.gap_after(live_redis, ["live:project:3", "live:user:7"], parsed[1])
    assert 0 < live_redis.pttl("live:project:3") <= 3600 * 1000


def test_reading_a_log_after_a_position_up_to_a_boundary(live_redis):
    ids = [live_log.parse_id(live_log.append(live_redis, envelope(), 100, 3600)) for _ in range(4)]
    page = live_log.read_after(live_redis, "live:project:3", ids[0], ids[2], 10)
    assert [entry_id for entry_id, _ in page] == ids[1:3]
    assert json.loads(page[0][1])["type"] == "task.updated"
    assert live_log.latest_id(live_redis) == ids[3]


def test_positions_are_parsed_strictly():
    assert live_log.parse_id("1796221361823-12") == (1796221361823, 12)
    for bad in ("", "1796221361823", "abc-1", "1-2-3", "-1-0", "1 -0"):
        assert live_log.parse_id(bad) is None, bad
    assert live_log.format_id((5, 0)) == "5-0"
