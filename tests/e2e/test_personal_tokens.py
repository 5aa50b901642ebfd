"""Personal access tokens through nginx, in every built service: a ``tasks:read`` token
reads tasks and gets 403 ``insufficient_scope`` on a write everywhere; a revoked token
(or a signed-out session) is refused by every service within 2 s, also after they cached
it; an expired one is 401."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from scripts import stack
from tests.support.api import ApiClient, team

BUILT = {service.name for service in stack.built_services()}

READ_SCOPES = [
    "projects:read",
    "tasks:read",
    "comments:read",
    "attachments:read",
    "notifications:read",
    "webhooks:read",
    "activities:read",
    "reports:read",
    "users:read",
]


def make_token(api: ApiClient, account, scopes, expires_at: datetime | None = None) -> str:
    body = {"name": "e2e", "scopes": scopes, "current_password": account.password}
    if expires_at is not None:
        body["expires_at"] = expires_at.isoformat()
    response = api.post("/api/users/me/tokens", token=account.access_token, json=body)
    assert response.status_code == 201, response.text
    return response.json()["token"]


def reads(project_id: int, task_id: int) -> dict[str, str]:
    """One read per built service."""
    paths = {
        "user": "/api/users/me",
        "project-task": f"/api/tasks/{task_id}",
        "comment": f"/api/tasks/{task_id}/comments",
        "attachment": f"/api/tasks/{task_id}/attachments",
        "notification": "/api/notifications",
        "activity-log": "/api/activities",
        "reporting": "/api/reports",
    }
    return {name: path for name, path in paths.items() if name in BUILT}


def test_a_tasks_read_token_reads_tasks_and_cannot_write_in_any_service(api):
    owner, _, project = team(api)
    task = api.post(
        f"/api/projects/{project['id']}/tasks", token=owner.access_token, json={"title": "Read me"}
    ).json()
    token = make_token(api, owner, ["tasks:read"])
    got = api.get(f"/api/tasks/{task['id']}", token=token)
    assert got.status_code == 200 and got.json()["title"] == "Read me"
    listed = api.get(f"/api/projects/{project['id']}/tasks", token=token)
    assert listed.status_code == 200 and listed.json()["total"] == 1
    writes = {
        "user": ("PATCH", "/api/users/me", {"json": {"full_name": "Bot"}}),
        "project-task": ("PATCH", f"/api/tasks/{task['id']}", {"json": {"priority": "high"}}),
        "comment": ("POST", f"/api/tasks/{task['id']}/comments", {"json": {"content": "Hi"}}),
        "attachment": (
            "POST",
            f"/api/tasks/{task['id']}/attachments",
            {"files": {"file": ("a.txt", b"words\n", "text/plain")}},
        ),
        "notification": ("POST", "/api/notifications/read-all", {}),
        # The activity log has no writes: a read it holds no scope for.
        "activity-log": ("GET", "/api/activities", {}),
        "reporting": (
            "POST",
            "/api/reports",
            {"json": {"type": "project_summary", "params": {"project_id": project["id"]}}},
        ),
    }
    for service, (method, path, kwargs) in writes.items():
        if service not in BUILT:
            continue
        refused = api.request(method, path, token=token, **kwargs)
        assert refused.status_code == 403, (service, refused.text)
        assert refused.headers["Content-Type"] == "application/problem+json"
        assert refused.json()["code"] == "insufficient_scope", service
        assert refused.headers["WWW-Authenticate"].startswith('Bearer error="insufficient_scope"')
    # Nothing was written.
    assert api.get(f"/api/tasks/{task['id']}", token=token).json()["priority"] == "medium"
    if "comment" in BUILT:
        comments = api.get(f"/api/tasks/{task['id']}/comments", token=owner.access_token)
        assert comments.json()["total"] == 0


def _refused_everywhere_within_two_seconds(api, credential: str, paths: dict[str, str]) -> float:
    started = time.monotonic()
    pending = dict(paths)
    while pending:
        for service, path in list(pending.items()):
            if api.get(path, token=credential).status_code == 401:
                del pending[service]
        elapsed = time.monotonic() - started
        assert elapsed < 2.0, f"still accepted after {elapsed:.2f} s by {sorted(pending)}"
        time.sleep(0.05)
    return time.monotonic() - started


def test_a_revoked_token_is_refused_by_every_service_within_two_seconds(api):
    owner, _, project = team(api)
    task = api.post(
        f"/api/projects/{project['id']}/tasks", token=owner.access_token, json={"title": "T"}
    ).json()
    token = make_token(api, owner, READ_SCOPES)
    paths = reads(project["id"], task["id"])
    for _ in range(2):  # the second round is served from each service's cache
        for service, path in paths.items():
            assert api.get(path, token=token).status_code == 200, service
    [listed] = api.get("/api/users/me/tokens", token=owner.access_token).json()["items"]
    revoked = api.delete(f"/api/users/me/tokens/{listed['id']}", token=owner.access_token)
    assert revoked.status_code == 204
    _refused_everywhere_within_two_seconds(api, token, paths)


def test_a_signed_out_session_is_refused_by_every_service_within_two_seconds(api):
    owner, _, project = team(api)
    task = api.post(
        f"/api/projects/{project['id']}/tasks", token=owner.access_token, json={"title": "T"}
    ).json()
    other = ApiClient(api.base_url).login(owner.username)
    paths = reads(project["id"], task["id"])
    for service, path in paths.items():
        assert api.get(path, token=other.access_token).status_code == 200, service
    sessions = api.get("/api/users/me/sessions", token=owner.access_token).json()["items"]
    [target] = [s for s in sessions if not s["current"]]  # the second login's
    ended = api.delete(f"/api/users/me/sessions/{target['id']}", token=owner.access_token)
    assert ended.status_code == 204
    _refused_everywhere_within_two_seconds(api, other.access_token, paths)
    refresh = api.post("/api/token/refresh", token=other.refresh_token)
    assert refresh.status_code == 401


def test_an_expired_token_is_401_everywhere(api):
    owner, _, project = team(api)
    task = api.post(
        f"/api/projects/{project['id']}/tasks", token=owner.access_token, json={"title": "T"}
    ).json()
    expires_at = datetime.now(UTC) + timedelta(seconds=3)
    token = make_token(api, owner, READ_SCOPES, expires_at)
    paths = reads(project["id"], task["id"])
    for service, path in paths.items():
        assert api.get(path, token=token).status_code == 200, service
    time.sleep(max(0.0, (expires_at - datetime.now(UTC)).total_seconds()) + 0.2)
    for service, path in paths.items():
        refused = api.get(path, token=token)
        assert refused.status_code == 401, service
        assert refused.headers["Content-Type"] == "application/problem+json"
