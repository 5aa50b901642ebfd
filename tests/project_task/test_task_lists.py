"""Task lists: filters, sort, pagination with Link, and ``GET /api/tasks`` across projects."""

from __future__ import annotations

from datetime import timedelta

from services.common.db import utcnow


def ids(response) -> list[int]:
    assert response.status_code == 200, response.json
    return [task["id"] for task in response.json["items"]]


def test_filters(client, factory, people):
    project = factory.team()
    today = utcnow().date()
    yesterday, tomorrow = (
        (today - timedelta(days=1)).isoformat(),
        (today + timedelta(days=1)).isoformat(),
    )
    late = factory.task(
        project,
        title="Fix LOGIN bug",
        status="in_progress",
        priority="high",
        assignee_id=people.member.id,
        labels=["bug", "auth"],
        due_date=yesterday,
    )
    done_late = factory.task(project, title="Old chore", status="done", due_date=yesterday)
    soon = factory.task(
        project,
        title="Plan",
        description="100% about the login page",
        priority="low",
        assignee_id=people.admin.id,
        labels=["ux"],
        due_date=tomorrow,
    )
    bare = factory.task(project, title="Someday")
    url = f"/api/projects/{project['id']}/tasks"
    get = lambda query: ids(client.get(f"{url}?{query}", headers=people.viewer.headers))  # noqa: E731

    assert sorted(get("status=in_progress,done")) == [late["id"], done_late["id"]]
    assert get("priority=high") == [late["id"]]
    assert get(f"assignee_id={people.admin.id}") == [soon["id"]]
    assert sorted(get("assignee_id=none")) == [done_late["id"], bare["id"]]
    assert get("label=auth") == [late["id"]]
    assert sorted(get("label=ux,bug")) == [late["id"], soon["id"]]
    assert sorted(get(f"due_before={today.isoformat()}")) == [late["id"], done_late["id"]]
    assert get(f"due_after={today.isoformat()}") == [soon["id"]]
    assert get("overdue=true") == [late["id"]]
    assert sorted(get("overdue=false")) == [done_late["id"], soon["id"], bare["id"]]
    assert sorted(get("q=login")) == [late["id"], soon["id"]]
    assert get("q=100%25") == [soon["id"]]
    assert get("q=_") == []
    assert get("status=in_progress&label=bug&overdue=true&q=fix") == [late["id"]]
    me = client.get(f"{url}?assignee_id=me", headers=people.member.headers)
    assert ids(me) == [late["id"]]


def test_sort_priority_by_rank_due_date_with_nulls_last_and_stable_ties(client, factory, people):
    project = factory.team()
    low = factory.task(project, priority="low", due_date="2030-01-03")
    critical = factory.task(project, priority="critical")
    medium_a = factory.task(project, priority="medium", due_date="2030-01-02")
    high = factory.task(project, priority="high", due_date="2030-01-01")
    medium_b = factory.task(project, priority="medium", due_date="2030-01-02")
    url = f"/api/projects/{project['id']}/tasks"
    get = lambda sort: ids(client.get(f"{url}?sort={sort}", headers=people.viewer.headers))  # noqa: E731
    assert get("-priority") == [
        critical["id"],
        high["id"],
        medium_a["id"],
        medium_b["id"],
        low["id"],
    ]
    assert get("priority") == [
        low["id"],
        medium_a["id"],
        medium_b["id"],
        high["id"],
        critical["id"],
    ]
    assert get("due_date") == [
        high["id"],
        medium_a["id"],
        medium_b["id"],
        low["id"],
        critical["id"],
    ]
    assert get("-due_date") == [
        low["id"],
        medium_a["id"],
        medium_b["id"],
        high["id"],
        critical["id"],
    ]
    assert get("-priority,due_date")[:2] == [critical["id"], high["id"]]
    assert get("created_at") == sorted(get("created_at"))
    client.patch(f"/api/tasks/{low['id']}", json={"status": "done"}, headers=people.member.headers)
    assert get("-updated_at")[0] == low["id"] and get("-status")[0] == low["id"]


def test_pagination_with_link_header(client, factory, people):
    project = factory.team()
    made = [factory.task(project)["id"] for _ in range(5)]
    url = f"/api/projects/{project['id']}/tasks"
    first = client.get(f"{url}?per_page=2&sort=created_at", headers=people.viewer.headers)
    assert ids(first) == made[:2]
    assert (
        first.json["page"],
        first.json["per_page"],
        first.json["total"],
        first.json["pages"],
    ) == (1, 2, 5, 3)
    link = first.headers["Link"]
    assert f'<{url}?sort=created_at&page=2&per_page=2>; rel="next"' in link
    assert f'<{url}?sort=created_at&page=3&per_page=2>; rel="last"' in link
    last = client.get(f"{url}?per_page=2&page=3&sort=created_at", headers=people.viewer.headers)
    assert ids(last) == made[4:] and 'rel="next"' not in last.headers["Link"]
    assert ids(client.get(f"{url}?per_page=2&page=9", headers=people.viewer.headers)) == []


def test_bad_list_arguments_are_422(client, factory, people):
    project = factory.team()
    url = f"/api/projects/{project['id']}/tasks"
    for query, field in (
        ("status=todo,blocked", "status"),
        ("priority=urgent", "priority"),
        ("sort=title", "sort"),
        ("sort=priority,-priority", "sort"),
        ("due_before=2030-01-01T00:00:00", "due_before"),
        ("assignee_id=someone", "assignee_id"),
        ("overdue=maybe", "overdue"),
        ("per_page=500", "per_page"),
        ("page=0", "page"),
    ):
        response = client.get(f"{url}?{query}", headers=people.viewer.headers)
        assert response.status_code == 422 and field in response.json["errors"], query


def test_my_tasks_across_projects(client, factory, people, accounts):
    first, second = factory.team(), factory.team()
    outside = factory.project(owner=people.stranger)
    factory.add_member(outside, people.member, "member", by=people.stranger)
    mine = [
        factory.task(first, assignee_id=people.member.id)["id"],
        factory.task(second, assignee_id=people.member.id)["id"],
        factory.task(outside, by=people.stranger, assignee_id=people.member.id)["id"],
    ]
    factory.task(first, assignee_id=people.admin.id)
    factory.task(second)
    response = client.get(
        "/api/tasks?assignee_id=me&sort=created_at", headers=people.member.headers
    )
    assert ids(response) == mine and response.json["total"] == 3 and response.headers["Link"]
    # Leaving a project takes its tasks out of the list.
    client.delete(
        f"/api/projects/{outside['id']}/members/{people.member.id}", headers=people.member.headers
    )
    assert (
        ids(client.get("/api/tasks?assignee_id=me&sort=created_at", headers=people.member.headers))
        == mine[:2]
    )
    assert client.get("/api/tasks", headers=people.viewer.headers).json["total"] == 4
    assert (
        client.get(f"/api/tasks?project_id={first['id']}", headers=people.viewer.headers).json[
            "total"
        ]
        == 2
    )
    assert client.get("/api/tasks", headers=people.stranger.headers).json["total"] == 1
    assert client.get("/api/tasks?all=true", headers=people.member.headers).status_code == 403
    assert client.get("/api/tasks?all=true", headers=people.root.headers).json["total"] == 5
