"""Lists make a constant number of SQL queries, however many rows they show (no N+1)."""

from __future__ import annotations


def _queries(sql_statements, client, url: str, headers: dict) -> int:
    client.get(url, headers=headers)  # warm the token cache: verification is HTTP, not SQL
    with sql_statements() as statements:
        response = client.get(url, headers=headers)
    assert response.status_code == 200
    return len(statements)


def test_task_lists_make_a_constant_number_of_queries(client, factory, people, sql_statements):
    project = factory.team()
    factory.task(project, labels=["a"], assignee_id=people.member.id)
    urls = [
        f"/api/projects/{project['id']}/tasks?sort=-priority,due_date",
        "/api/tasks?assignee_id=me",
    ]
    few = [_queries(sql_statements, client, url, people.member.headers) for url in urls]
    for number in range(20):
        factory.task(
            project, labels=["a", f"l{number}"], assignee_id=people.member.id, parent_id=None
        )
    many = [_queries(sql_statements, client, url, people.member.headers) for url in urls]
    assert many == few
    assert few[0] <= 4  # membership check, count, page, labels


def test_project_list_makes_a_constant_number_of_queries(client, factory, people, sql_statements):
    project = factory.team()
    factory.task(project)
    few = _queries(sql_statements, client, "/api/projects", people.viewer.headers)
    for _ in range(15):
        more = factory.team()
        factory.task(more)
        factory.task(more)
    many = _queries(sql_statements, client, "/api/projects", people.viewer.headers)
    assert many == few <= 2  # count, page (with my_role and task_count in the same query)
    response = client.get("/api/projects", headers=people.viewer.headers)
    assert {p["task_count"] for p in response.json["items"]} == {1, 2}
