"""The live stream's parts on a real Redis, without the rest of the platform: tickets,
per-user slots, filters and visibility, the hub's fan-out and membership changes, and
the WebSocket messages. The whole stream, through nginx with real clients, is
tests/e2e/test_live_updates.py."""

from __future__ import annotations

import json
import time

import pytest

from services.common import live_log
from services.common.auth import Principal
from services.common.contracts import EVENT_TYPES
from services.common.testing import configure_for_tests
from services.notification.config import StreamConfig
from services.notification.stream import create_app, slots, tickets
from services.notification.stream.hub import Delivery, Filter, Hub, Subscriber
from services.notification.stream.session import StreamSession, make_filter


@pytest.fixture
def stream_app(backing, live_redis):
    config = configure_for_tests(StreamConfig(), "sqlite://", backing.redis_url)
    return create_app(config)


def event(kind: str = "task.updated", project_id: int | None = 3, actor: int = 7, **data):
    return {"type": kind, "project_id": project_id, "actor": {"id": actor}, "data": data}


def deliveries(subscriber: Subscriber) -> list[str]:
    got = []
    while (item := subscriber.next(timeout=0)) is not None:
        assert isinstance(item, Delivery)
        got.append(json.loads(item.text)["type"])
    return got


# --- tickets ------------------------------------------------------------------------------


def test_a_ticket_stands_for_its_token_once_and_redis_never_sees_either(live_redis):
    ticket = tickets.issue(live_redis, "the-access-token", 60)
    [key] = list(live_redis.scan_iter("live:ticket:*"))
    stored = live_redis.get(key)
    assert ticket.encode() not in key and b"the-access-token" not in stored
    assert 0 < live_redis.ttl(key) <= 60
    assert tickets.redeem(live_redis, ticket) == "the-access-token"
    assert tickets.redeem(live_redis, ticket) is None


def test_expired_forged_and_malformed_tickets_are_nothing(live_redis):
    expired = tickets.issue(live_redis, "token", 1)
    time.sleep(1.2)
    assert tickets.redeem(live_redis, expired) is None
    other = tickets.issue(live_redis, "token", 60)
    forged = ("A" if other[0] != "A" else "B") + other[1:]
    assert tickets.redeem(live_redis, forged) is None
    for bad in ("", "short", "x" * 43 + "!", "../" * 20):
        assert tickets.redeem(live_redis, bad) is None
    assert tickets.redeem(live_redis, other) == "token"


# --- slots --------------------------------------------------------------------------------


def test_a_user_holds_at_most_the_limit_of_slots_until_one_is_given_back(live_redis):
    held = [slots.Slot(live_redis, 41) for _ in range(3)]
    assert all(slot.take(3) for slot in held)
    assert not slots.Slot(live_redis, 41).take(3)
    assert slots.Slot(live_redis, 42).take(3)  # another user's are their own
    held[0].release()
    assert slots.Slot(live_redis, 41).take(3)


def test_a_lease_nobody_renews_runs_out(live_redis, monkeypatch):
    monkeypatch.setattr(slots, "LEASE_SECONDS", 1)
    assert slots.Slot(live_redis, 43).take(1)
    assert not slots.Slot(live_redis, 43).take(1)
    time.sleep(1.2)
    assert slots.Slot(live_redis, 43).take(1)


# --- filters and visibility ---------------------------------------------------------------


def test_filters_match_projects_types_and_families():
    assert Filter().matches(event())
    assert Filter(project_id=3).matches(event()) and not Filter(project_id=4).matches(event())
    assert Filter(types=("task.*",)).matches(event("task.deleted"))
    assert not Filter(types=("task.*",)).matches(event("comment.created"))
    assert Filter(types=("comment.created", "*")).matches(event("report.failed"))
    assert not Filter(types=("task.updated",)).matches(event("task.updated_at"))
    assert make_filter(3, ["task.*", "comment.*", "task.*"]) == make_filter(
        3, ["comment.*", "task.*"]
    )


def test_a_member_sees_their_projects_and_their_own_account():
    member = Subscriber(9, False, [Filter()], 10)
    member.projects = frozenset({3})
    assert member.sees(event(project_id=3))
    assert not member.sees(event(project_id=4))
    assert member.sees(event(project_id=4, actor=9))  # their own action
    assert member.sees(event("project.member_removed", project_id=4, user_id=9))
    assert Subscriber(1, True, [Filter()], 10).sees(event(project_id=99))


# --- the hub ------------------------------------------------------------------------------


def attached(hub: Hub, user_id: int, projects: set[int], *filters: Filter, admin=False):
    subscriber = Subscriber(user_id, admin, filters or [Filter()], 5)
    assert hub.attach(subscriber, frozenset(projects), hub.membership_version(user_id))
    return subscriber


def dispatch(hub: Hub, *events: dict) -> None:
    for number, each in enumerate(events, start=1):
        hub.dispatch((1000, number), json.dumps(each))


def test_the_hub_hands_each_event_to_who_may_see_it_and_wants_it(stream_app):
    hub = Hub(stream_app)
    member = attached(hub, 9, {3})
    stranger = attached(hub, 10, {4})
    admin = attached(hub, 1, set(), admin=True)
    comments_only = attached(hub, 11, {3}, Filter(types=("comment.*",)))
    dispatch(hub, event("task.updated", 3), event("comment.created", 3), event("task.created", 4))
    assert deliveries(member) == ["task.updated", "comment.created"]
    assert deliveries(stranger) == ["task.created"]
    assert deliveries(admin) == ["task.updated", "comment.created", "task.created"]
    assert deliveries(comments_only) == ["comment.created"]
    assert hub.position == (1000, 3)


def test_a_removed_member_hears_of_it_and_nothing_of_the_project_after(stream_app):
    hub = Hub(stream_app)
    member = attached(hub, 9, {3, 5})
    version = hub.membership_version(9)
    dispatch(
        hub,
        event("project.member_removed", 3, actor=2, user_id=9),
        event("task.updated", 3, actor=2),
        event("task.updated", 5, actor=2),
        event("project.member_added", 6, actor=2, user_id=9),
        event("task.created", 6, actor=2),
        event("project.deleted", 5, actor=2),
        event("task.updated", 5, actor=2),
    )
    assert deliveries(member) == [
        "project.member_removed",
        "task.updated",
        "project.member_added",
        "task.created",
        "project.deleted",
    ]
    assert member.projects == frozenset({6})
    # A stream that read memberships before the change must read them again.
    late = Subscriber(9, False, [Filter()], 5)
    assert hub.attach(late, frozenset({3}), version) is None


def test_a_stream_that_cannot_keep_up_is_interrupted_not_grown(stream_app):
    hub = Hub(stream_app)
    slow = attached(hub, 9, {3})
    dispatch(hub, *[event() for _ in range(8)])
    assert slow.interrupted == "too_slow"
    assert len(deliveries(slow)) == 5


def test_the_hub_follows_the_log_from_redis(stream_app, live_redis):
    hub = stream_app.extensions["stream_hub"]
    hub.ensure_started()
    member = attached(hub, 9, {3})
    envelope = {"event_id": "e", "type": "task.updated", "project_id": 3, "entity": {}}
    entry_id = live_log.append(live_redis, envelope, 100, 3600)
    item = member.next(timeout=10)
    assert isinstance(item, Delivery) and item.entry_id == live_log.parse_id(entry_id)
    assert json.loads(item.text) == envelope


# --- WebSocket messages -------------------------------------------------------------------


@pytest.fixture
def session(stream_app):
    principal = Principal(9, "member", "user", "s1")
    session = StreamSession(stream_app, principal, "token", [Filter(project_id=3)], None, "r")
    session.subscriber.projects = frozenset({3, 4})
    return session


@pytest.mark.parametrize(
    ("message", "status", "code"),
    [
        ("not json", 400, "invalid_message"),
        ("[1, 2]", 422, "invalid_message"),
        ('{"subscribe": {}, "unsubscribe": {}}', 422, "invalid_message"),
        ('{"subscribe": "task.*"}', 422, "invalid_message"),
        ('{"subscribe": {"types": ["task.nosuch"]}}', 422, "validation_error"),
        ('{"subscribe": {"types": "nosuch.*"}}', 422, "validation_error"),
        ('{"subscribe": {"project_id": "3"}}', 422, "validation_error"),
        ('{"subscribe": {"colour": "red"}}', 422, "validation_error"),
        ('{"subscribe": {"project_id": 8}}', 404, "not_found"),
        ('{"unsubscribe": {"project_id": 4}}', 404, "not_subscribed"),
    ],
)
def test_bad_messages_get_an_error_frame(session, message, status, code):
    frame = session.handle_message(message)
    assert frame.kind == "error" and not frame.final
    assert (frame.data["status"], frame.data["code"]) == (status, code)
    assert frame.data["request_id"] == "r"
    assert session.subscriber.filters == (Filter(project_id=3),)


def test_subscribe_and_unsubscribe_change_what_comes(session):
    frame = session.handle_message('{"subscribe": {"project_id": 4, "types": "task.*"}}')
    assert frame.kind == "ack" and frame.type == "subscribed"
    assert frame.data["subscriptions"] == [
        {"project_id": 3, "types": None},
        {"project_id": 4, "types": ["task.*"]},
    ]
    assert session.subscriber.wants(event("task.updated", 4))
    assert not session.subscriber.wants(event("comment.created", 4))
    frame = session.handle_message('{"unsubscribe": {"project_id": 3}}')
    assert frame.type == "unsubscribed" and len(frame.data["subscriptions"]) == 1
    assert not session.subscriber.wants(event("task.updated", 3))


def test_a_connection_holds_at_most_twenty_subscriptions(session):
    answers = [
        session.handle_message(json.dumps({"subscribe": {"project_id": 4, "types": [kind]}}))
        for kind in EVENT_TYPES[:20]
    ]
    assert [a.kind for a in answers] == ["ack"] * 19 + ["error"]
    assert answers[-1].data["code"] == "too_many_subscriptions"
    assert len(session.subscriber.filters) == 20
