"""Live updates end to end (docs/api.md, "Live updates"): real SSE and WebSocket clients
through nginx to the stream process, events from the services' outbox relays, tokens
checked by the real user service."""

from __future__ import annotations

import time

import pytest

from scripts import stack
from scripts.toolkit.processes import Process, free_port
from scripts.toolkit.streams import Received, SseClient, WsClient
from services.common.registry import STREAM
from tests.support.api import ApiClient, team


def _sse(api: ApiClient, token: str | None = None, **kwargs) -> SseClient:
    return SseClient(api.session, f"{api.base_url}/api/stream", token=token, **kwargs)


def _ws(api: ApiClient, token: str | None = None, query: str = "", **kwargs) -> WsClient:
    url = api.base_url.replace("http://", "ws://") + "/api/stream/ws" + query
    return WsClient(url, token=token, **kwargs)


def _task(api: ApiClient, owner, project) -> dict:
    response = api.post(
        f"/api/projects/{project['id']}/tasks", token=owner.access_token, json={"title": "Live"}
    )
    assert response.status_code == 201, response.text
    return response.json()


def _change(api: ApiClient, owner, task: dict, title: str) -> None:
    response = api.patch(
        f"/api/tasks/{task['id']}", token=owner.access_token, json={"title": title}
    )
    assert response.status_code == 200, response.text


def _about(task: dict, kind: str = "task.updated"):
    def matches(frame: Received) -> bool:
        return frame.event == kind and frame.data["entity"] == {"type": "task", "id": task["id"]}

    return matches


def _renamed(api: ApiClient, account) -> None:
    response = api.patch("/api/users/me", token=account.access_token, json={"full_name": "Marker"})
    assert response.status_code == 200, response.text


def test_a_task_change_reaches_members_streams_and_not_a_strangers(api):
    owner, member, project = team(api)
    stranger = api.account()
    task = _task(api, owner, project)
    sse, ws, outsider = _sse(api, member.access_token), _ws(api, member.access_token), None
    try:
        outsider = _sse(api, stranger.access_token)
        _change(api, owner, task, "Seen by members")

        over_sse = sse.until(_about(task))
        over_ws = ws.until(_about(task))
        for frame in (over_sse, over_ws):
            assert frame.data["actor"] == {"id": owner.id, "username": owner.username}
            assert frame.data["changes"]["title"] == ["Live", "Seen by members"]
            assert frame.data["project_id"] == project["id"]
        assert over_sse.id == over_ws.id and over_sse.data == over_ws.data

        # The log is ordered: the stranger's own event, recorded after the change, is the
        # first thing the stranger's stream carries.
        _renamed(api, stranger)
        first = outsider.next(timeout=10)
        assert first is not None and first.event == "user.updated"
        assert first.data["entity"] == {"type": "user", "id": stranger.id}
    finally:
        for client in (sse, ws, outsider):
            if client is not None:
                client.close()


def test_resume_with_last_event_id_replays_exactly_the_missed_events(api):
    owner, member, project = team(api)
    task = _task(api, owner, project)
    first = _sse(api, member.access_token, params={"types": "task.*"})
    _change(api, owner, task, "one")
    seen = first.until(_about(task))
    first.close()

    _change(api, owner, task, "two")
    _change(api, owner, task, "three")
    watcher = _sse(api, owner.access_token, params={"types": "task.updated"})
    _change(api, owner, task, "four")
    watcher.until(lambda f: f.data["changes"]["title"][1] == "four")
    watcher.close()

    resumed = _sse(api, member.access_token, params={"types": "task.*"}, last_event_id=seen.id)
    try:
        replayed = [resumed.next(timeout=10) for _ in range(3)]
        assert [f.data["changes"]["title"][1] for f in replayed] == ["two", "three", "four"]
        assert all(f.id > seen.id for f in replayed)
        assert resumed.drain(1.0) == []
        _change(api, owner, task, "five")
        live = resumed.next(timeout=10)
        assert live.data["changes"]["title"][1] == "five" and live.id > replayed[-1].id
    finally:
        resumed.close()


def test_a_resume_older_than_the_log_gets_reset(api):
    account = api.account()
    stream = _sse(api, account.access_token, last_event_id="1000-0")
    try:
        reset = stream.next(timeout=10)
        assert reset.event == "reset" and reset.data == {"reason": "too_old"}
        assert reset.id is not None and reset.id > "1000-0"
        _renamed(api, account)
        assert stream.next(timeout=10).event == "user.updated"
    finally:
        stream.close()


def test_logout_closes_the_stream_within_two_seconds(api):
    account = api.account()
    sse = _sse(api, account.access_token)
    ws = _ws(api, account.access_token)
    try:
        logout = api.post("/api/logout", token=account.access_token)
        assert logout.status_code == 204
        logged_out = time.monotonic()
        assert sse.ended.wait(5) and ws.ended.wait(5)
        assert sse.ended_at - logged_out <= 2.0
        assert ws.ended_at - logged_out <= 2.0
        for client in (sse, ws):
            frames = client.drain(0.2)
            error = frames[-1]
            assert error.event == "error" and error.data["status"] == 401
    finally:
        sse.close()
        ws.close()


def test_removal_from_a_project_stops_its_events_within_two_seconds(api):
    owner, member, project = team(api)
    task = _task(api, owner, project)
    stream = _sse(api, member.access_token)
    witness = _sse(api, owner.access_token, params={"types": "task.updated"})
    try:
        _change(api, owner, task, "before")
        stream.until(_about(task))
        removed = api.delete(
            f"/api/projects/{project['id']}/members/{member.id}", token=owner.access_token
        )
        assert removed.status_code == 204
        at = time.monotonic()
        # The removed member hears of it (it is about their account) ...
        notice = stream.until(lambda f: f.event == "project.member_removed", timeout=2)
        assert notice.at - at <= 2.0 and notice.data["data"]["user_id"] == member.id
        # ... and nothing of the project after it.
        _change(api, owner, task, "after")
        witness.until(lambda f: f.data["changes"]["title"][1] == "after")
        assert [f for f in stream.drain(1.0) if f.event.startswith("task.")] == []
    finally:
        stream.close()
        witness.close()


def test_a_ticket_opens_one_stream_once(api):
    owner, member, project = team(api)
    issued = api.post("/api/stream/tickets", token=member.access_token)
    assert issued.status_code == 201, issued.text
    assert issued.headers["Cache-Control"] == "no-store"
    ticket = issued.json()["ticket"]
    assert issued.json()["expires_in"] > 0

    stream = _sse(api, params={"ticket": ticket})
    again = _sse(api, params={"ticket": ticket})
    try:
        assert stream.status == 200
        task = _task(api, owner, project)
        stream.until(_about(task, "task.created"))
        assert again.status == 401
        assert again.response.headers["Content-Type"] == "application/problem+json"
        assert again.problem["code"] == "invalid_ticket"
    finally:
        stream.close()

    socket_ticket = api.post("/api/stream/tickets", token=member.access_token).json()["ticket"]
    ws = _ws(api, query=f"?ticket={socket_ticket}")
    try:
        task = _task(api, owner, project)
        ws.until(_about(task, "task.created"))
    finally:
        ws.close()


def test_an_expired_ticket_is_refused(api):
    account = api.account()
    ticket = api.post("/api/stream/tickets", token=account.access_token).json()
    time.sleep(ticket["expires_in"] + 0.5)
    expired = _sse(api, params={"ticket": ticket["ticket"]})
    assert expired.status == 401 and expired.problem["code"] == "invalid_ticket"


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"types": "task.*,nosuch.thing"}, 422, "types"),
        ({"types": "task.exploded"}, 422, "types"),
        ({"access_token": "abc"}, 422, "query.access_token"),
        ({"project_id": "zero"}, 422, "project_id"),
        ({"last_event_id": "yesterday"}, 422, "last_event_id"),
        ({"last_event_id": "99999999999999-0"}, 422, "Last-Event-ID"),
        ({"ticket": "not-a-ticket"}, 401, None),
    ],
)
def test_bad_stream_requests_get_problems_before_the_stream_starts(api, params, status, field):
    account = api.account()
    token = None if "ticket" in params else account.access_token
    response = api.get("/api/stream", token=token, params=params)
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    if field:
        assert field in response.json()["errors"], response.json()


def test_a_project_filter_on_someone_elses_project_is_404(api):
    _owner, _member, project = team(api)
    stranger = api.account()
    response = api.get(
        "/api/stream", token=stranger.access_token, params={"project_id": project["id"]}
    )
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_more_streams_than_allowed_get_429(api):
    account = api.account()
    streams = [_sse(api, account.access_token) for _ in range(5)]
    try:
        assert all(s.status == 200 for s in streams)
        extra = _sse(api, account.access_token)
        assert extra.status == 429 and extra.problem["code"] == "too_many_streams"
        assert extra.response.headers["Retry-After"]
        streams.pop().close()
        # The slot comes back once the server notices the client left (about a second).
        deadline = time.monotonic() + 5
        while (again := _sse(api, account.access_token)).status != 200:
            assert time.monotonic() < deadline, again.problem
            time.sleep(0.2)
        streams.append(again)
    finally:
        for stream in streams:
            stream.close()


def test_websocket_messages_subscribe_and_bad_ones_get_error_frames(api):
    owner, member, project = team(api)
    other = api.post("/api/projects", token=owner.access_token, json={"name": "Other"}).json()
    ws = _ws(api, member.access_token, query=f"?project_id={project['id']}&types=comment.*")
    try:
        ws.send("this is not JSON")
        error = ws.next(timeout=10)
        assert error.event == "error" and error.data["code"] == "invalid_message"
        assert error.data["status"] == 400

        ws.send({"subscribe": {"types": ["task.nosuch"]}})
        error = ws.next(timeout=10)
        assert error.event == "error" and error.data["code"] == "validation_error"
        assert "types" in error.data["errors"]

        ws.send({"subscribe": {"project_id": other["id"]}})
        assert ws.next(timeout=10).data["code"] == "not_found"

        ws.send({"subscribe": {"project_id": project["id"], "types": ["task.*"]}})
        ack = ws.next(timeout=10)
        assert ack.event == "subscribed"
        assert {"project_id": project["id"], "types": ["task.*"]} in ack.data["subscriptions"]

        task = _task(api, owner, project)
        ws.until(_about(task, "task.created"))

        ws.send({"unsubscribe": {"project_id": project["id"], "types": ["task.*"]}})
        assert ws.next(timeout=10).event == "unsubscribed"
        _change(api, owner, task, "unheard")
        assert ws.drain(1.0) == []
    finally:
        ws.close()


def test_a_plain_get_of_the_websocket_endpoint_is_426(api):
    account = api.account()
    response = api.get("/api/stream/ws", token=account.access_token)
    assert response.status_code == 426
    assert response.json()["code"] == "upgrade_required"
    assert response.headers["Upgrade"] == "websocket"


def test_the_python_gateway_passes_both_streams_on(platform, tmp_path):
    port = free_port()
    command, env = stack.python_gateway_command(
        port,
        {
            name: platform.service_url(process).removeprefix("http://")
            for name, process in (
                ("user", "user"),
                ("project_task", "project-task"),
                ("notification_stream", STREAM.name),
            )
        },
    )
    gateway = Process(
        "python-gateway-live", command, {**platform.base_env(), **env}, tmp_path / "gw.log", port
    )
    gateway.start(wait_path=None)
    try:
        api = ApiClient(f"http://127.0.0.1:{port}")
        owner, member, project = team(api)
        sse, ws = _sse(api, member.access_token), _ws(api, member.access_token)
        try:
            task = _task(api, owner, project)
            assert (
                sse.until(_about(task, "task.created")).id
                == ws.until(_about(task, "task.created")).id
            )
        finally:
            sse.close()
            ws.close()
    finally:
        gateway.stop()
