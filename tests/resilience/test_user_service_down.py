"""R1 (docs/testing.md): the user service killed with SIGKILL under a running platform.

Through nginx, another service (project-task) keeps serving sessions it has already
verified, answers 503 ``auth_unavailable`` (never 401) for a token it has not seen, and
once the user service is started again everything works with no restart elsewhere.
"""

from __future__ import annotations

import signal
from concurrent.futures import ThreadPoolExecutor

from tests.support.api import ApiClient


def projects(api: ApiClient, token: str, parallel: int = 1) -> list[int]:
    """Status codes of ``GET /api/projects``, ``parallel`` at a time on separate
    connections, so every gunicorn worker behind nginx sees the token."""

    def one(_: int) -> int:
        return ApiClient(api.base_url, api.source).get("/api/projects", token=token).status_code

    with ThreadPoolExecutor(parallel) as pool:
        return list(pool.map(one, range(parallel * 8)))


def test_user_service_killed_cached_sessions_work_unknown_tokens_503_then_recovery(platform):
    api = ApiClient(platform.url)
    known, unseen = api.account(), api.account()
    assert set(projects(api, known.access_token, parallel=6)) == {200}
    project_task_pid = platform.processes["project-task"].popen.pid

    platform.stop("user", signal.SIGKILL)
    try:
        assert set(projects(api, known.access_token, parallel=6)) == {200}
        for _ in range(3):
            refused = api.get("/api/projects", token=unseen.access_token)
            assert refused.status_code == 503, refused.text
            assert refused.headers["Content-Type"] == "application/problem+json"
            assert refused.json()["code"] == "auth_unavailable"
            assert "WWW-Authenticate" not in refused.headers
        forged = api.get("/api/projects", token="not-a-token-anyone-issued")
        assert forged.status_code == 503 and forged.json()["code"] == "auth_unavailable"
        # The user service's own routes: nginx's problem+json, not a hang or a 502.
        down = api.get("/api/users/me", token=known.access_token)
        assert down.status_code == 503 and down.json()["code"] == "service_unavailable"
    finally:
        platform.start("user")

    assert set(projects(api, unseen.access_token, parallel=2)) == {200}
    assert set(projects(api, known.access_token)) == {200}
    assert api.get("/api/projects", token="not-a-token-anyone-issued").status_code == 401
    assert api.get("/api/users/me", token=unseen.access_token).status_code == 200
    assert platform.processes["project-task"].popen.pid == project_task_pid
