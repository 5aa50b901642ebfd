"""Time tracking end to end, through nginx with the real reporting worker: the README's
steps (an entry by hand, a timer started and stopped, the lists and the quick
timesheet), a timesheet report made by the worker whose CSV sums what the entries API
lists, and the activity log's record of it all."""

from __future__ import annotations

import csv
import io
import time
from datetime import UTC, datetime, timedelta

from scripts.toolkit.waiting import wait_for
from tests.support.api import team


def test_time_logged_by_hand_and_by_timer_adds_up_in_the_timesheet(api):
    owner, member, project = team(api)
    task = api.post(
        f"/api/projects/{project['id']}/tasks",
        token=owner.access_token,
        json={"title": "Bill me", "estimated_hours": 3},
    ).json()
    today = datetime.now(UTC).date()

    logged = api.post(
        f"/api/tasks/{task['id']}/time-entries",
        token=member.access_token,
        json={"spent_on": today.isoformat(), "minutes": 90, "note": "Review", "billable": True},
    )
    assert logged.status_code == 201, logged.text
    earlier = api.post(
        f"/api/tasks/{task['id']}/time-entries",
        token=owner.access_token,
        json={"spent_on": (today - timedelta(days=2)).isoformat(), "minutes": 45},
    )
    assert earlier.status_code == 201
    started = api.post("/api/timer", token=member.access_token, json={"task_id": task["id"]})
    assert started.status_code == 201 and started.headers["Location"] == "/api/timer"
    time.sleep(1.1)
    stopped = api.delete("/api/timer", token=member.access_token)
    assert stopped.status_code == 200 and stopped.json()["entry"]["minutes"] == 1
    over = api.post(
        f"/api/tasks/{task['id']}/time-entries",
        token=member.access_token,
        json={"spent_on": today.isoformat(), "minutes": 1440},
    )
    assert over.status_code == 422 and over.json()["code"] == "daily_limit_exceeded"
    assert over.headers["Content-Type"] == "application/problem+json"

    shown = api.get(f"/api/tasks/{task['id']}", token=owner.access_token).json()
    assert shown["spent_minutes"] == 90 + 45 + 1
    mine = api.get("/api/time-entries?user_id=me", token=member.access_token).json()
    assert sorted(e["minutes"] for e in mine["items"]) == [1, 90]
    quick = api.get(
        f"/api/reports/quick/timesheet?project_id={project['id']}&group_by=user",
        token=owner.access_token,
    )
    assert quick.status_code == 200, quick.text
    assert {r["user_id"]: r["minutes"] for r in quick.json()["rows"]} == {
        member.id: 91,
        owner.id: 45,
    }

    requested = api.post(
        "/api/reports",
        token=owner.access_token,
        json={
            "type": "timesheet",
            "params": {"project_id": project["id"], "group_by": "day"},
            "format": "csv",
        },
    )
    assert requested.status_code == 202, requested.text

    def finished() -> dict | None:
        report = api.get(requested.headers["Location"], token=owner.access_token).json()
        return report if report["status"] in ("completed", "failed") else None

    report = wait_for(finished, timeout=30)
    assert report and report["status"] == "completed", report
    download = api.get(report["download_url"], token=owner.access_token)
    rows = list(csv.reader(io.StringIO(download.text)))
    per_day = rows[rows.index(["Time per day"]) + 2 :][:7]
    minutes = {day: int(count) for day, _, count, *_ in per_day}
    assert minutes[today.isoformat()] == 91
    assert minutes[(today - timedelta(days=2)).isoformat()] == 45
    assert sum(minutes.values()) == 136

    def activity() -> set[str]:
        items = api.get(
            f"/api/activities?project_id={project['id']}&limit=200", token=owner.access_token
        ).json()["items"]
        return {item["action"] for item in items}

    expected = {"time_entry.created", "timer.started", "timer.stopped"}
    assert wait_for(lambda: expected <= activity(), timeout=20), activity()
