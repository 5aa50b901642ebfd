"""Report jobs end to end in this process: request (202), generation by the job, the
file in each format (JSON, CSV read with the csv module, PDF read with pypdf), and the
numbers checked against what the project-task API shows for the same data."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from services.reporting import documents
from services.reporting.models import OutboxEvent, Report
from tests.reporting.factories import PRIORITIES, STATUSES, team_project
from tests.support.probes import record_calls
from tests.support.volumes import files_in, fill, small_volume

FORMATS = ("json", "csv", "pdf")


@pytest.fixture
def project(project_task_service, people):
    return team_project(project_task_service, people.owner, people.member)


def api_figures(task_api, project: dict, account) -> dict:
    """The project's numbers as the task API counts them."""
    path = f"/api/projects/{project['id']}/tasks"
    by_status = {s: task_api.total(path, account, status=s) for s in STATUSES}
    return {
        "total": task_api.get(f"/api/projects/{project['id']}", account)["task_count"],
        "by_status": by_status,
        "by_priority": {p: task_api.total(path, account, priority=p) for p in PRIORITIES},
        "overdue": task_api.total(path, account, overdue="true"),
        "open": task_api.total(path, account, status="todo,in_progress,in_review"),
        "member": task_api.total(path, account, assignee_id=account.id),
    }


def outbox(database, event_type: str) -> list[dict]:
    with database() as session:
        return [
            row.payload
            for row in session.scalars(
                select(OutboxEvent).where(OutboxEvent.type == event_type).order_by(OutboxEvent.id)
            )
        ]


@pytest.mark.parametrize("fmt", FORMATS)
def test_project_summary_matches_the_task_api_in_every_format(
    fmt, project, people, request_report, download, task_api
):
    expected = api_figures(task_api, project, people.member)
    report = request_report(people.member, "project_summary", {"project_id": project["id"]}, fmt)
    assert report["status"] == "completed", report
    assert report["download_url"] == f"/api/reports/{report['id']}/download"

    response, content = download(report, people.member)

    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert f"report-{report['id']}-project_summary.{fmt}" in response.headers["Content-Disposition"]
    assert int(response.headers["Content-Length"]) == report["size"]
    if fmt == "json":
        assert response.mimetype == "application/json"
        data = content["data"]
        assert data["total"] == expected["total"] == 8
        assert data["by_status"] == expected["by_status"]
        assert data["by_priority"] == expected["by_priority"]
        assert data["overdue"] == expected["overdue"] == 2
        assert data["open"] == expected["open"]
        member = next(a for a in data["by_assignee"] if a["assignee_id"] == people.member.id)
        assert member["total"] == expected["member"] == 3
        assert data["completion_rate"] == round(2 / 7, 4)
        assert content["figures"]["Completion rate"] == "28.6%"
        this_week = data["weekly"][-1]
        assert (this_week["created"], this_week["completed"]) == (8, 2)
        assert len(data["weekly"]) == 8
    elif fmt == "csv":
        assert response.mimetype == "text/csv"
        figures = dict(content["Key figures"][1:])
        assert figures["Total tasks"] == str(expected["total"])
        assert figures["Overdue tasks"] == str(expected["overdue"])
        assert figures["Open tasks"] == str(expected["open"])
        by_status = {row[0]: int(row[1]) for row in content["Tasks by status"][1:]}
        assert by_status == expected["by_status"]
        by_priority = {row[0]: int(row[1]) for row in content["Tasks by priority"][1:]}
        assert by_priority == expected["by_priority"]
        per_assignee = {row[0]: row for row in content["Tasks per assignee"][1:]}
        assert per_assignee[f"user {people.member.id}"][1] == str(expected["member"])
        assert len(content["Created vs completed per week"]) == 1 + 8
    else:
        assert response.mimetype == "application/pdf"
        assert response.data.startswith(b"%PDF")
        text = content
        assert f"Project summary: {project['name']}" in text
        assert f"Total tasks {expected['total']}" in text
        assert f"Overdue tasks {expected['overdue']}" in text
        for chart in (
            "Tasks by status",
            "Tasks by priority",
            "Tasks per assignee",
            "Created vs completed per week",
        ):
            assert chart in text
        for status, count in expected["by_status"].items():
            assert f"{status} {count}" in text


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    "report_type", ["user_workload", "overdue_tasks", "activity_summary", "system_overview"]
)
def test_every_type_completes_in_every_format(
    report_type, fmt, project, people, request_report, download, activity_log_service
):
    activity_log_service.record(
        "task.created", actor=people.owner, entity=("task", 1), project_id=project["id"]
    )
    account = people.admin if report_type == "system_overview" else people.owner
    params = {"project_id": project["id"]} if report_type == "activity_summary" else {}

    report = request_report(account, report_type, params, fmt)

    assert report["status"] == "completed", report
    _, content = download(report, account)
    assert content


def test_user_workload_counts_my_tasks_as_the_api_does(
    project, people, request_report, download, task_api
):
    open_statuses = "todo,in_progress,in_review"
    mine = task_api.total("/api/tasks", people.member, assignee_id="me")
    mine_open = task_api.total("/api/tasks", people.member, assignee_id="me", status=open_statuses)
    mine_overdue = task_api.total("/api/tasks", people.member, assignee_id="me", overdue="true")
    mine_done = task_api.total("/api/tasks", people.member, assignee_id="me", status="done")

    report = request_report(people.member, "user_workload", {}, "csv")
    _, sections = download(report, people.member)

    figures = dict(sections["Key figures"][1:])
    assert (figures["Total tasks"], figures["Open tasks"], figures["Overdue tasks"]) == (
        str(mine),
        str(mine_open),
        str(mine_overdue),
    )
    [row] = sections["Workload per assignee"][1:]
    assert row[:5] == [
        f"user {people.member.id}",
        str(mine),
        str(mine_open),
        str(mine_done),
        str(mine_overdue),
    ]


def test_project_workload_lists_every_assignee(project, people, request_report, download, task_api):
    report = request_report(people.member, "user_workload", {"project_id": project["id"]})
    _, document = download(report, people.member)

    path = f"/api/projects/{project['id']}/tasks"
    by_person = {a["assignee_id"]: a["total"] for a in document["data"]["assignees"]}
    assert by_person == {
        people.member.id: task_api.total(path, people.member, assignee_id=people.member.id),
        people.owner.id: task_api.total(path, people.member, assignee_id=people.owner.id),
        None: task_api.total(path, people.member, assignee_id="none"),
    }


def test_overdue_tasks_lists_what_the_api_calls_overdue(
    project, people, request_report, download, task_api
):
    overdue = task_api.get(
        f"/api/projects/{project['id']}/tasks", people.owner, overdue="true", sort="due_date"
    )
    report = request_report(people.owner, "overdue_tasks", {"project_id": project["id"]}, "pdf")
    _, text = download(report, people.owner)

    assert f"Overdue tasks {overdue['total']}" in text
    for task in overdue["items"]:
        assert task["title"] in text


def test_activity_summary_counts_the_activity_log(
    project, people, request_report, download, activity_log_service
):
    for task_id in (1, 2, 3):
        activity_log_service.record(
            "task.created", actor=people.owner, entity=("task", task_id), project_id=project["id"]
        )
    activity_log_service.record(
        "task.updated", actor=people.owner, entity=("task", 1), project_id=project["id"]
    )
    activity_log_service.record(
        "task.created", actor=people.owner, entity=("task", 9), project_id=project["id"] + 1000
    )

    report = request_report(
        people.member, "activity_summary", {"project_id": project["id"], "days": 7}, "csv"
    )
    _, sections = download(report, people.member)

    assert dict(sections["Key figures"][1:])["Total entries"] == "4"
    assert {row[0]: row[1] for row in sections["Entries by action"][1:]} == {
        "task.created": "3",
        "task.updated": "1",
    }
    assert len(sections["Entries by day"]) == 1 + 7


def test_system_overview_counts_every_task(project, people, request_report, download, task_api):
    everything = task_api.total("/api/tasks", people.admin, all="true")
    overdue = task_api.total("/api/tasks", people.admin, all="true", overdue="true")

    report = request_report(people.admin, "system_overview", {}, "json")
    _, document = download(report, people.admin)

    assert document["data"]["tasks"]["total"] == everything
    assert document["data"]["tasks"]["overdue"] == overdue
    assert document["figures"]["Total tasks"] == everything


def test_a_member_of_another_project_gets_404(client, project, people, project_task_service):
    project_task_service.project(people.outsider)
    for params in ({"project_id": project["id"]}, {"project_id": 999_999}):
        response = client.post(
            "/api/reports",
            json={"type": "project_summary", "params": params, "format": "csv"},
            headers=people.outsider.headers,
        )
        assert response.status_code == 404, response.json
        assert response.mimetype == "application/problem+json"
    for report_type in ("user_workload", "overdue_tasks", "activity_summary"):
        response = client.post(
            "/api/reports",
            json={"type": report_type, "params": {"project_id": project["id"]}},
            headers=people.outsider.headers,
        )
        assert response.status_code == 404


def test_system_overview_is_for_admins_only(client, people):
    response = client.post(
        "/api/reports", json={"type": "system_overview"}, headers=people.member.headers
    )
    assert response.status_code == 403 and response.json["code"] == "forbidden"
    response = client.post(
        "/api/reports", json={"type": "system_overview"}, headers=people.admin.headers
    )
    assert response.status_code == 202


def test_platform_wide_activity_and_others_workload_are_for_admins(client, people):
    for body in (
        {"type": "activity_summary", "params": {}},
        {"type": "user_workload", "params": {"user_id": people.owner.id}},
    ):
        response = client.post("/api/reports", json=body, headers=people.member.headers)
        assert response.status_code == 403, body
        response = client.post("/api/reports", json=body, headers=people.admin.headers)
        assert response.status_code == 202, body


def test_parameters_are_validated_per_type(client, people):
    cases = [
        ({"type": "project_summary", "params": {}}, "params.project_id"),
        ({"type": "project_summary", "params": {"project_id": "1"}}, "params.project_id"),
        ({"type": "overdue_tasks", "params": {"colour": "red"}}, "params.colour"),
        ({"type": "activity_summary", "params": {"days": 0}}, "params.days"),
        ({"type": "sales_forecast"}, "type"),
        ({"type": "overdue_tasks", "format": "xlsx"}, "format"),
    ]
    for body, field in cases:
        response = client.post("/api/reports", json=body, headers=people.member.headers)
        assert response.status_code == 422, body
        assert field in response.json["errors"], response.json


def test_requests_need_a_token(client):
    assert client.get("/api/reports").status_code == 401
    assert client.post("/api/reports", json={"type": "overdue_tasks"}).status_code == 401


def test_completion_tells_the_requester_in_the_same_transaction(
    project, people, request_report, database
):
    report = request_report(people.member, "project_summary", {"project_id": project["id"]})

    [event] = outbox(database, "report.completed")
    assert event["actor"] is None  # nobody is told about their own action: this is no one's
    assert event["entity"] == {"type": "report", "id": report["id"]}
    assert event["project_id"] == project["id"]
    assert event["data"] == {
        "requester_id": people.member.id,
        "report": {"id": report["id"], "type": "project_summary", "format": "json", "error": None},
    }


def test_a_failing_report_ends_failed_with_its_error(
    client, project, people, generate, database, monkeypatch
):
    def broken(*args, **kwargs):
        raise RuntimeError("the chart library exploded")

    monkeypatch.setattr(documents, "project_summary", broken)
    monkeypatch.setitem(documents.BUILDERS, "project_summary", broken)
    response = client.post(
        "/api/reports",
        json={"type": "project_summary", "params": {"project_id": project["id"]}, "format": "pdf"},
        headers=people.member.headers,
    )
    report_id = response.json["id"]

    assert generate(report_id) == "failed"

    report = client.get(f"/api/reports/{report_id}", headers=people.member.headers).json
    assert report["status"] == "failed"
    assert "the chart library exploded" in report["error"]
    assert report["download_url"] is None and report["finished_at"] is not None
    download = client.get(f"/api/reports/{report_id}/download", headers=people.member.headers)
    assert download.status_code == 409
    [event] = outbox(database, "report.failed")
    assert event["data"]["requester_id"] == people.member.id
    assert event["data"]["report"]["id"] == report_id
    assert "the chart library exploded" in event["data"]["report"]["error"]


def test_a_full_report_volume_fails_the_report_cleanly_until_space_returns(
    client, project, people, generate, database, storage_dir
):
    """The file cut short by the full volume is removed (never served), the report ends
    failed with a plain error the requester is told; with room again, reports complete."""

    def request_pdf() -> int:
        response = client.post(
            "/api/reports",
            json={
                "type": "project_summary",
                "params": {"project_id": project["id"]},
                "format": "pdf",
            },
            headers=people.member.headers,
        )
        assert response.status_code == 202, response.json
        return response.json["id"]

    with small_volume(storage_dir, 512):
        filler = fill(storage_dir, leave_bytes=4096)
        report_id = request_pdf()
        assert generate(report_id) == "failed"

        report = client.get(f"/api/reports/{report_id}", headers=people.member.headers).json
        assert report["status"] == "failed" and report["download_url"] is None
        assert "No room is left to store the report" in report["error"]
        assert files_in(storage_dir) == []
        download = client.get(f"/api/reports/{report_id}/download", headers=people.member.headers)
        assert download.status_code == 409
        [event] = outbox(database, "report.failed")
        assert event["data"]["requester_id"] == people.member.id
        assert event["data"]["report"]["error"] == report["error"]

        filler.unlink()
        report_id = request_pdf()
        assert generate(report_id) == "completed"
        download = client.get(f"/api/reports/{report_id}/download", headers=people.member.headers)
        assert download.status_code == 200 and download.data.startswith(b"%PDF")


def test_a_source_that_stays_down_fails_the_report(
    client, app, project, people, generate, monkeypatch
):
    response = client.post(
        "/api/reports",
        json={"type": "project_summary", "params": {"project_id": project["id"]}},
        headers=people.member.headers,
    )
    monkeypatch.setitem(app.config, "PROJECT_TASK_SERVICE_URL", "http://127.0.0.1:9")

    assert generate(response.json["id"]) == "failed"

    report = client.get(response.headers["Location"], headers=people.member.headers).json
    assert report["status"] == "failed" and "unavailable" in report["error"]


def test_a_requester_who_lost_access_gets_a_failed_report(
    client, project, people, generate, project_task_service, monkeypatch
):
    response = client.post(
        "/api/reports",
        json={"type": "project_summary", "params": {"project_id": project["id"]}},
        headers=people.member.headers,
    )
    project_task_service._call(
        "DELETE", f"/api/projects/{project['id']}/members/{people.member.id}", people.owner, 204
    )

    assert generate(response.json["id"]) == "failed"
    report = client.get(response.headers["Location"], headers=people.member.headers).json
    assert report["error"] == "No such project."


def test_with_the_broker_down_a_report_waits_pending_and_is_requeued(
    client, app, project, people, monkeypatch
):
    celery = app.extensions["celery"]
    sent: list[tuple[str, list]] = []

    def broker_down(*args, **kwargs):
        raise ConnectionError("redis is away")

    monkeypatch.setattr(celery, "send_task", broker_down)
    response = client.post(
        "/api/reports",
        json={"type": "overdue_tasks", "params": {}, "format": "csv"},
        headers=people.member.headers,
    )
    assert response.status_code == 202
    assert response.json["status"] == "pending"

    monkeypatch.setattr(celery, "send_task", lambda name, args, **kw: sent.append((name, args)))
    from datetime import timedelta

    from services.common.db import utcnow
    from services.reporting.generation import requeue_stale

    with app.app_context():
        assert requeue_stale() == []  # not stale yet
        assert requeue_stale(utcnow() + timedelta(minutes=2)) == [response.json["id"]]
    assert sent == [("reporting.generate_report", [response.json["id"]])]


def test_a_report_is_generated_once_even_if_enqueued_twice(
    client, project, people, generate, database
):
    response = client.post(
        "/api/reports", json={"type": "overdue_tasks"}, headers=people.member.headers
    )
    assert generate(response.json["id"]) == "completed"
    assert generate(response.json["id"]) == "skipped"
    assert len(outbox(database, "report.completed")) == 1


def test_the_same_idempotency_key_replays_the_first_report(client, people):
    body = {"type": "overdue_tasks", "params": {}, "format": "json"}
    headers = {**people.member.headers, "Idempotency-Key": "report-once"}
    first = client.post("/api/reports", json=body, headers=headers)
    again = client.post("/api/reports", json=body, headers=headers)

    assert (first.status_code, again.status_code) == (202, 202)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == first.headers["Location"]
    assert again.json["id"] == first.json["id"]
    listed = client.get("/api/reports", headers=people.member.headers).json
    assert listed["total"] == 1


def test_reports_are_seen_by_their_requester_and_admins_only(client, people, request_report):
    report = request_report(people.member, "overdue_tasks", {}, "csv")
    url = f"/api/reports/{report['id']}"

    for path in (url, f"{url}/download"):
        assert client.get(path, headers=people.outsider.headers).status_code == 404
        assert client.get(path, headers=people.admin.headers).status_code == 200
    assert client.delete(url, headers=people.outsider.headers).status_code == 404
    mine = client.get("/api/reports", headers=people.member.headers)
    assert [r["id"] for r in mine.json["items"]] == [report["id"]]
    assert "Link" in mine.headers
    assert client.get("/api/reports", headers=people.outsider.headers).json["total"] == 0
    assert client.get("/api/reports?all=true", headers=people.member.headers).status_code == 403
    everyone = client.get("/api/reports?all=true", headers=people.admin.headers).json
    assert report["id"] in [r["id"] for r in everyone["items"]]


def test_deleting_a_report_removes_its_file(client, app, people, request_report, database):
    report = request_report(people.member, "overdue_tasks", {}, "pdf")
    with database() as session:
        key = session.get(Report, report["id"]).file_key
    path = app.extensions["report_storage"].path(key)
    assert path.exists()

    response = client.delete(f"/api/reports/{report['id']}", headers=people.member.headers)

    assert response.status_code == 204
    assert not path.exists()
    assert (
        client.get(f"/api/reports/{report['id']}", headers=people.member.headers).status_code == 404
    )


def test_downloading_before_completion_is_409(client, people):
    response = client.post(
        "/api/reports", json={"type": "overdue_tasks"}, headers=people.member.headers
    )
    download = client.get(
        f"/api/reports/{response.json['id']}/download", headers=people.member.headers
    )
    assert download.status_code == 409 and download.json["code"] == "conflict"


def test_expired_reports_lose_their_file_and_answer_410(
    client, app, people, request_report, database
):
    from datetime import timedelta

    from services.common.db import utcnow
    from services.reporting.generation import expire_reports

    report = request_report(people.member, "overdue_tasks", {}, "csv")
    with database() as session:
        key = session.get(Report, report["id"]).file_key
    path = app.extensions["report_storage"].path(key)

    with app.app_context():
        assert expire_reports() == 0
        assert (
            expire_reports(utcnow() + timedelta(days=app.config["REPORT_TTL_DAYS"], minutes=1)) == 1
        )

    assert not path.exists()
    shown = client.get(f"/api/reports/{report['id']}", headers=people.member.headers).json
    assert shown["status"] == "expired" and shown["download_url"] is None
    download = client.get(f"/api/reports/{report['id']}/download", headers=people.member.headers)
    assert download.status_code == 410


def post_reports(app, account, project: dict, count: int) -> list:
    """``count`` report requests by ``account`` sent at the same moment, each on its own
    thread and client."""
    start = threading.Barrier(count)
    body = {"type": "project_summary", "params": {"project_id": project["id"]}}

    def post(_):
        client = app.test_client()
        start.wait()
        return client.post("/api/reports", json=body, headers=account.headers)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(post, range(count)))


def test_twenty_requests_at_once_get_no_more_than_the_cap_of_active_reports(
    app, client, project, people, monkeypatch
):
    limit = app.config["REPORTS_MAX_ACTIVE_PER_USER"]

    responses = post_reports(app, people.member, project, 20)

    accepted = [r for r in responses if r.status_code == 202]
    refused = [r for r in responses if r.status_code == 429]
    assert (len(accepted), len(refused)) == (limit, 20 - limit)
    for response in refused:
        assert response.mimetype == "application/problem+json"
        assert response.json["code"] == "too_many_reports"
        assert int(response.headers["Retry-After"]) > 0
    mine = client.get("/api/reports?status=pending,running", headers=people.member.headers)
    assert mine.json["total"] == limit
    # At the cap, a request is refused before it costs a call to project-task.
    calls = record_calls(monkeypatch, "/internal/")
    again = client.post(
        "/api/reports",
        json={"type": "project_summary", "params": {"project_id": project["id"]}},
        headers=people.member.headers,
    )
    assert again.status_code == 429 and calls == []
    # Someone else's reports are not held back by this user's.
    other = client.post(
        "/api/reports",
        json={"type": "project_summary", "params": {"project_id": project["id"]}},
        headers=people.owner.headers,
    )
    assert other.status_code == 202


def test_a_finished_or_deleted_report_makes_room_for_another(
    app, client, project, people, generate
):
    limit = app.config["REPORTS_MAX_ACTIVE_PER_USER"]
    body = {"type": "project_summary", "params": {"project_id": project["id"]}}
    ids = [r.json["id"] for r in post_reports(app, people.member, project, limit)]
    assert client.post("/api/reports", json=body, headers=people.member.headers).status_code == 429

    generate(ids[0])
    assert client.post("/api/reports", json=body, headers=people.member.headers).status_code == 202
    assert client.post("/api/reports", json=body, headers=people.member.headers).status_code == 429
    assert client.delete(f"/api/reports/{ids[1]}", headers=people.member.headers).status_code == 204
    assert client.post("/api/reports", json=body, headers=people.member.headers).status_code == 202
    assert client.post("/api/reports", json=body, headers=people.member.headers).status_code == 429


def test_workspace_reports_cover_the_projects_you_can_see_in_it(
    client, project_task_service, user_service, people, request_report, download
):
    owner, reader, outsider = (user_service.account() for _ in range(3))
    workspace = project_task_service.workspace(owner)
    project_task_service.add_workspace_member(workspace, reader, "member", by=owner)
    placed = {}
    for visibility in ("workspace", "private"):
        project = team_project(project_task_service, owner, people.member)
        project_task_service.update_project(
            project, owner, workspace_id=workspace["id"], visibility=visibility
        )
        placed[visibility] = project["id"]
    params = {"workspace_id": workspace["id"]}

    report = request_report(reader, "overdue_tasks", params, "json")
    _, document = download(report, reader)
    assert {row["project_id"] for row in document["data"]["by_project"]} == {placed["workspace"]}
    report = request_report(owner, "overdue_tasks", params, "csv")
    _, sections = download(report, owner)
    assert {int(row[0]) for row in sections["Overdue by project"][1:]} == set(placed.values())
    report = request_report(reader, "user_workload", params, "json")
    _, document = download(report, reader)
    assert {row["project_id"] for row in document["data"]["by_project"]} == {placed["workspace"]}
    assert document["data"]["workspace_id"] == workspace["id"]

    for report_type in ("overdue_tasks", "user_workload"):
        refused = client.post(
            "/api/reports",
            json={"type": report_type, "params": params},
            headers=outsider.headers,
        )
        assert refused.status_code == 404 and refused.mimetype == "application/problem+json"
    both = client.post(
        "/api/reports",
        json={"type": "overdue_tasks", "params": {**params, "project_id": placed["workspace"]}},
        headers=owner.headers,
    )
    assert both.status_code == 422 and "params.workspace_id" in both.json["errors"]
