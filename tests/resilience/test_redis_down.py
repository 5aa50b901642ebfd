"""R2 (docs/testing.md): the platform's Redis (broker, rate limits, revocation feed) stopped in the
middle of writes. Every write still succeeds (events wait in each service's outbox), and
once Redis is back every event reaches the activity log and the notification service
within 30 s: 0 failed writes, 0 lost events.

CI runs it at test scale: 100 writes with Redis down for as long as they take. Full
scale is ``RESILIENCE_R2_WRITES=500 RESILIENCE_R2_DOWN_SECONDS=60`` (the outage is kept
at least that long; writes are spread over it).
"""

from __future__ import annotations

import time

from scripts.toolkit.waiting import wait_for
from tests.resilience.conftest import scale
from tests.support.api import team

WRITES = scale("r2_writes", 100)
DOWN_SECONDS = scale("r2_down_seconds", 0)


def test_redis_down_during_writes_loses_nothing(platform, api):
    # The platform is shared with the suites before: their jobs are done first, so the
    # 30 s below are this test's events' alone.
    assert wait_for(platform.drained, timeout=300), "earlier jobs still queued after 300 s"
    owner, member, project = team(api)
    tasks_url = f"/api/projects/{project['id']}/tasks"
    platform.stop("redis")
    stopped = time.monotonic()
    try:
        for number in range(WRITES):
            response = api.post(
                tasks_url,
                token=owner.access_token,
                json={"title": f"Written while Redis is down {number}", "assignee_id": member.id},
            )
            assert response.status_code == 201, response.text
            if DOWN_SECONDS:
                pace = stopped + DOWN_SECONDS * (number + 1) / WRITES
                time.sleep(max(0.0, pace - time.monotonic()))
    finally:
        platform.start("redis")
    restarted = time.monotonic()

    def all_logged() -> bool:
        params = {"project_id": project["id"], "action": "task.created", "limit": 200}
        count = 0
        while True:
            response = api.get("/api/activities", token=owner.access_token, params=params)
            if response.status_code != 200:
                return False
            body = response.json()
            count += len(body["items"])
            if not body["next_cursor"]:
                return count == WRITES
            params["cursor"] = body["next_cursor"]

    def all_notified() -> bool:
        response = api.get("/api/notifications/unread-count", token=member.access_token)
        return response.status_code == 200 and response.json()["count"] >= WRITES

    assert wait_for(all_logged, timeout=30), "activity entries missing 30 s after Redis returned"
    assert wait_for(all_notified, timeout=30 - (time.monotonic() - restarted) + 1)
    assigned = 0
    page = 1
    while True:
        body = api.get(
            f"/api/notifications?per_page=200&page={page}", token=member.access_token
        ).json()
        assigned += sum(n["type"] == "task.assigned" for n in body["items"])
        if page >= body["pages"]:
            break
        page += 1
    assert assigned == WRITES
