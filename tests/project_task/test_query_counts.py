"""Lists make a constant number of SQL queries, however many rows they show (no N+1),
and the most-urgent-first page is read from an index in order, not sorted."""

from __future__ import annotations

import pytest
from sqlalchemy import event, text

from services.project_task.extensions import db


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
    assert few[0] <= 3  # membership check, count, page (labels in the page's rows)


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


def test_most_urgent_first_is_read_in_index_order(app, client, factory, people):
    """The page query of ``sort=-priority,due_date`` as the view sends it, explained:
    with sorting priced out, PostgreSQL reads the priority-rank index in order (a drift
    between the index's expression and the query's would bring back a Sort node)."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip(
                "the priority-rank index is PostgreSQL's (SQLite indexes take no NULLS LAST)"
            )
        engine = db.engine
    project = factory.team()
    factory.task(project, priority="high")
    sent: list[str] = []

    def after_cursor_execute(conn, cursor, statement, parameters, context, executemany):
        sent.append(cursor.query.decode())

    url = f"/api/projects/{project['id']}/tasks?status=todo,in_progress&sort=-priority,due_date"
    event.listen(engine, "after_cursor_execute", after_cursor_execute)
    try:
        assert client.get(url, headers=people.member.headers).status_code == 200
    finally:
        event.remove(engine, "after_cursor_execute", after_cursor_execute)
    page = next(q for q in sent if "ORDER BY" in q and "LIMIT" in q)
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(text("SET LOCAL enable_sort = off"))
        plan = "\n".join(connection.execute(text("EXPLAIN " + page)).scalars())
    assert "ix_tasks_project_id_priority_rank" in plan, plan
    assert "Sort" not in plan, plan
