"""Templates (a project copied with its tasks, subtasks, labels and relations, due dates
shifted) and duplicated tasks; copies are written in bulk, never a query per task."""

from __future__ import annotations

from datetime import UTC, date, datetime

PROBLEM = "application/problem+json"


def _template(factory, people, **fields) -> tuple[dict, dict]:
    """A template project of ``people.owner`` with the team of ``factory.team`` (start
    2030-01-01 unless given): an epic with two subtasks (one with a subtask of its own),
    and a loose task, related."""
    template = factory.team(is_template=True, **{"start_date": "2030-01-01", **fields})
    epic = factory.task(template, title="Epic", labels=["plan"], due_date="2030-01-10")
    design = factory.task(
        template,
        title="Design",
        parent_id=epic["id"],
        labels=["ux", "plan"],
        due_date="2030-01-05",
        estimated_hours=4,
        assignee_id=people.owner.id,
    )
    build = factory.task(template, title="Build", parent_id=epic["id"], due_date="2030-01-08")
    detail = factory.task(template, title="Detail", parent_id=design["id"])
    loose = factory.task(template, title="Loose", due_date="2030-01-03", status="in_progress")
    factory.relate(design, "blocks", build)
    factory.relate(loose, "relates_to", epic)
    return template, {t["title"]: t for t in (epic, design, build, detail, loose)}


def _tasks_by_title(client, project: dict, who) -> dict[str, dict]:
    response = client.get(f"/api/projects/{project['id']}/tasks?per_page=200", headers=who.headers)
    return {task["title"]: task for task in response.json["items"]}


def test_a_project_from_a_template_has_its_tasks_subtasks_and_relations_shifted(
    client, factory, people, outbox
):
    template, _ = _template(factory, people, end_date="2030-02-01")
    body = {"name": "Launch", "from_template": template["id"], "start_date": "2030-03-01"}
    response = client.post("/api/projects", json=body, headers=people.member.headers)
    assert response.status_code == 201, response.json
    project = response.json
    assert project["owner_id"] == people.member.id and project["is_template"] is False
    assert project["start_date"] == "2030-03-01" and project["end_date"] == "2030-04-01"
    assert project["task_count"] == 5
    tasks = _tasks_by_title(client, project, people.member)
    ids = {title: task["id"] for title, task in tasks.items()}
    assert {title: task["due_date"] for title, task in tasks.items()} == {
        "Epic": "2030-03-10",
        "Design": "2030-03-05",
        "Build": "2030-03-08",
        "Detail": None,
        "Loose": "2030-03-03",
    }
    assert {title: task["parent_id"] for title, task in tasks.items()} == {
        "Epic": None,
        "Design": ids["Epic"],
        "Build": ids["Epic"],
        "Detail": ids["Design"],
        "Loose": None,
    }
    assert tasks["Design"]["labels"] == ["plan", "ux"] and tasks["Epic"]["labels"] == ["plan"]
    assert tasks["Design"]["estimated_hours"] == 4
    # A copy starts afresh: todo, nobody assigned, reported by whoever made the project.
    assert {task["status"] for task in tasks.values()} == {"todo"}
    assert {task["assignee_id"] for task in tasks.values()} == {None}
    assert {task["reporter_id"] for task in tasks.values()} == {people.member.id}
    relations = client.get(f"/api/tasks/{ids['Design']}/relations", headers=people.member.headers)
    assert [(r["type"], r["task_id"]) for r in relations.json["items"]] == [
        ("blocks", ids["Build"])
    ]
    loose = client.get(f"/api/tasks/{ids['Loose']}/relations", headers=people.member.headers)
    assert [(r["type"], r["task_id"]) for r in loose.json["items"]] == [("relates_to", ids["Epic"])]
    [event] = [e for e in outbox("project.created") if e["project_id"] == project["id"]]
    assert event["data"]["from_template"] == template["id"]
    assert event["data"]["tasks_copied"] == 5 and event["data"]["relations_copied"] == 2
    assert event["data"]["due_date_shift_days"] == 59


def test_a_template_without_a_start_date_starts_at_its_earliest_due_date(client, factory, people):
    template, _ = _template(factory, people, start_date=None)
    body = {"name": "From the first due date", "from_template": template["id"]}
    response = client.post("/api/projects", json=body, headers=people.owner.headers)
    assert response.status_code == 201
    today = datetime.now(UTC).date()
    assert response.json["start_date"] == today.isoformat()
    tasks = _tasks_by_title(client, response.json, people.owner)
    # The earliest due date (Loose, 2030-01-03) lands on the start: today.
    assert tasks["Loose"]["due_date"] == today.isoformat()
    epic_due = today + (date(2030, 1, 10) - date(2030, 1, 3))
    assert tasks["Epic"]["due_date"] == epic_due.isoformat()


def test_a_template_you_cannot_see_is_404_and_a_plain_project_is_not_one(client, factory, people):
    template, _ = _template(factory, people)
    unseen = client.post(
        "/api/projects",
        json={"name": "Mine", "from_template": template["id"]},
        headers=people.stranger.headers,
    )
    assert unseen.status_code == 404 and unseen.mimetype == PROBLEM
    missing = client.post(
        "/api/projects",
        json={"name": "Mine", "from_template": 999_999},
        headers=people.owner.headers,
    )
    assert missing.status_code == 404
    plain = factory.project()
    refused = client.post(
        "/api/projects",
        json={"name": "Mine", "from_template": plain["id"]},
        headers=people.owner.headers,
    )
    assert refused.status_code == 422 and "from_template" in refused.json["errors"]
    listed = client.get("/api/projects?is_template=true", headers=people.owner.headers).json
    assert [p["id"] for p in listed["items"]] == [template["id"]]
    # Seeing a template is enough to use it.
    used = client.post(
        "/api/projects",
        json={"name": "Viewer's", "from_template": template["id"]},
        headers=people.viewer.headers,
    )
    assert used.status_code == 201 and used.json["task_count"] == 5


def test_copying_a_template_takes_as_many_statements_for_many_tasks_as_for_few(
    client, factory, people, sql_statements
):
    def statements_to_copy(template: dict) -> int:
        body = {"name": "Copy", "from_template": template["id"], "start_date": "2031-01-01"}
        client.get("/api/projects", headers=people.owner.headers)  # token cached
        with sql_statements() as statements:
            response = client.post("/api/projects", json=body, headers=people.owner.headers)
        assert response.status_code == 201
        return len(statements)

    small, _ = _template(factory, people)
    big, tasks = _template(factory, people)
    for number in range(30):
        parent = (None, tasks["Epic"]["id"], tasks["Detail"]["id"])[number % 3]
        factory.task(big, labels=[f"l{number}"], parent_id=parent, due_date="2030-01-20")
    assert statements_to_copy(big) == statements_to_copy(small)


def test_duplicating_a_task_copies_it_with_its_labels(client, factory, people, outbox):
    project = factory.team()
    parent = factory.task(project, title="Parent")
    task = factory.task(
        project,
        title="Original",
        labels=["a", "b"],
        parent_id=parent["id"],
        assignee_id=people.member.id,
        due_date="2030-05-05",
        status="in_progress",
    )
    factory.task(project, title="Child", parent_id=task["id"])
    url = f"/api/tasks/{task['id']}/duplicate"
    assert client.post(url, json={}, headers=people.viewer.headers).status_code == 403
    response = client.post(url, json={}, headers=people.member.headers)
    assert response.status_code == 201
    copy = response.json
    assert response.headers["Location"] == f"/api/tasks/{copy['id']}"
    assert copy["id"] != task["id"] and copy["title"] == "Original"
    assert copy["labels"] == ["a", "b"] and copy["due_date"] == "2030-05-05"
    assert copy["parent_id"] == parent["id"] and copy["assignee_id"] == people.member.id
    assert copy["status"] == "todo" and copy["reporter_id"] == people.member.id
    children = client.get(
        f"/api/projects/{project['id']}/tasks?q=Child", headers=people.member.headers
    ).json
    assert children["total"] == 1  # subtasks are copied only when asked
    [event] = [e for e in outbox("task.created") if e["entity"]["id"] == copy["id"]]
    assert event["data"]["duplicated_from"] == task["id"]
    assert event["data"]["copied_task_ids"] == [copy["id"]]


def test_duplicating_with_subtasks_copies_the_whole_tree(client, factory, people):
    project = factory.team()
    root = factory.task(project, title="Root")
    child = factory.task(project, title="Child", parent_id=root["id"])
    original = factory.task(project, title="Grandchild", parent_id=child["id"], labels=["deep"])
    response = client.post(
        f"/api/tasks/{root['id']}/duplicate",
        json={"with_subtasks": True, "title": "Root again"},
        headers=people.owner.headers,
    )
    assert response.status_code == 201
    copy = response.json
    assert copy["title"] == "Root again" and copy["parent_id"] is None
    tasks = client.get(
        f"/api/projects/{project['id']}/tasks?per_page=200", headers=people.owner.headers
    ).json["items"]
    copies = [t for t in tasks if t["id"] > original["id"]]
    by_id = {t["id"]: t for t in copies}
    grandchild = next(t for t in copies if t["title"] == "Grandchild")
    assert grandchild["labels"] == ["deep"]
    new_child = by_id[grandchild["parent_id"]]
    assert new_child["title"] == "Child" and new_child["parent_id"] == copy["id"]
    assert len(tasks) == 6


def test_a_due_date_shift_keeps_dates_without_a_start(client, factory, people):
    template = factory.project(is_template=True)
    factory.task(template, title="Undated")
    body = {"name": "Empty dates", "from_template": template["id"], "start_date": "2030-01-01"}
    response = client.post("/api/projects", json=body, headers=people.owner.headers)
    assert response.status_code == 201
    [task] = _tasks_by_title(client, response.json, people.owner).values()
    assert task["due_date"] is None
