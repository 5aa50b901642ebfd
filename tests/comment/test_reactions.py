"""Reactions: the fixed set, idempotent PUT and DELETE, the ``reactions`` summary with
``me`` for each caller, the events, and a list that costs the same number of SQL queries
however many comments and reactions it shows."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event

from services.comment.extensions import db
from services.comment.models import REACTIONS, OutboxEvent, Reaction

PROBLEM = "application/problem+json"


def react(client, comment_id: int, name: str, account, method: str = "PUT"):
    return client.open(
        f"/api/comments/{comment_id}/reactions/{name}", method=method, headers=account.headers
    )


def summary_of(client, comment_id: int, account) -> list[dict]:
    response = client.get(f"/api/comments/{comment_id}", headers=account.headers)
    assert response.status_code == 200, response.json
    return response.json["reactions"]


def test_reactions_count_and_me_are_right_for_each_caller(client, people, post_comment):
    comment = post_comment()
    cid = comment["id"]

    given = react(client, cid, "heart", people.member)
    assert given.status_code == 200
    assert given.json["reactions"] == [{"name": "heart", "count": 1, "me": True}]
    react(client, cid, "heart", people.admin)
    react(client, cid, "+1", people.admin)

    assert summary_of(client, cid, people.member) == [
        {"name": "+1", "count": 1, "me": False},
        {"name": "heart", "count": 2, "me": True},
    ]
    assert summary_of(client, cid, people.admin) == [
        {"name": "+1", "count": 1, "me": True},
        {"name": "heart", "count": 2, "me": True},
    ]
    assert summary_of(client, cid, people.viewer) == [
        {"name": "+1", "count": 1, "me": False},
        {"name": "heart", "count": 2, "me": False},
    ]
    listed = client.get(f"/api/tasks/{comment['task_id']}/comments", headers=people.admin.headers)
    assert listed.json["items"][0]["reactions"] == summary_of(client, cid, people.admin)


def test_put_and_delete_are_idempotent_and_record_one_event_per_change(
    client, people, post_comment, outbox, count_rows
):
    cid = post_comment()["id"]

    first = react(client, cid, "rocket", people.owner)
    again = react(client, cid, "rocket", people.owner)

    assert first.status_code == again.status_code == 200
    assert again.json["reactions"] == [{"name": "rocket", "count": 1, "me": True}]
    assert count_rows(Reaction) == 1
    [added] = outbox("comment.reaction_added")
    assert added["data"]["reaction"] == "rocket" and added["entity"] == {
        "type": "comment",
        "id": cid,
    }
    assert added["actor"]["id"] == people.owner.id and added["data"]["task"]["id"]

    removed = react(client, cid, "rocket", people.owner, "DELETE")
    removed_again = react(client, cid, "rocket", people.owner, "DELETE")
    never_given = react(client, cid, "eyes", people.owner, "DELETE")

    assert [r.status_code for r in (removed, removed_again, never_given)] == [204, 204, 204]
    assert count_rows(Reaction) == 0 and summary_of(client, cid, people.owner) == []
    assert len(outbox("comment.reaction_removed")) == 1


def test_every_reaction_of_the_set_is_accepted_and_listed_in_its_order(
    client, people, post_comment
):
    cid = post_comment()["id"]
    for name in reversed(REACTIONS):
        assert react(client, cid, name, people.member).status_code == 200
    assert [r["name"] for r in summary_of(client, cid, people.member)] == list(REACTIONS)


@pytest.mark.parametrize("name", ["thumbs_up", "HEART", "%2B2", "heart%20", "x" * 40])
def test_an_unknown_reaction_is_422_and_changes_nothing(
    client, people, post_comment, count_rows, name
):
    cid = post_comment()["id"]
    before = count_rows(OutboxEvent)

    for method in ("PUT", "DELETE"):
        response = react(client, cid, name, people.member, method)
        assert response.status_code == 422 and response.mimetype == PROBLEM
        assert response.json["code"] == "validation_error"
        assert list(response.json["errors"]) == ["reaction"]
    assert count_rows(Reaction) == 0 and count_rows(OutboxEvent) == before


def test_viewers_read_reactions_but_do_not_react_and_strangers_get_404(
    client, people, post_comment, count_rows
):
    cid = post_comment()["id"]

    viewer = react(client, cid, "laugh", people.viewer)
    root = react(client, cid, "laugh", people.root)
    stranger = react(client, cid, "laugh", people.stranger)
    missing = react(client, 999_999, "laugh", people.member)
    anonymous = client.put(f"/api/comments/{cid}/reactions/laugh")

    assert viewer.status_code == 403 and root.status_code == 403
    assert stranger.status_code == 404 and missing.status_code == 404
    assert stranger.json["detail"] == missing.json["detail"] == "No such comment."
    assert anonymous.status_code == 401
    assert count_rows(Reaction) == 0


def test_a_deleted_comment_takes_its_reactions(client, people, post_comment, count_rows):
    cid = post_comment()["id"]
    react(client, cid, "hooray", people.admin)

    assert client.delete(f"/api/comments/{cid}", headers=people.member.headers).status_code == 204
    assert count_rows(Reaction) == 0


@contextmanager
def counting_queries(app):
    """The SQL statements the comment service's engine runs inside the block."""
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_a_comment_list_costs_the_same_queries_whatever_its_length(
    app, client, team, people, post_comment
):
    def list_queries() -> tuple[int, int]:
        client.get(team.url, headers=people.viewer.headers)  # access and profiles cached
        with counting_queries(app) as statements:
            response = client.get(team.url, headers=people.viewer.headers)
        assert response.status_code == 200
        return len(statements), len(response.json["items"])

    def add_comments(count: int) -> None:
        for n in range(count):
            cid = post_comment(f"#{n}", by=(people.member, people.admin)[n % 2])["id"]
            for account, name in ((people.member, "+1"), (people.admin, "heart")):
                assert react(client, cid, name, account).status_code == 200

    add_comments(2)
    few, shown = list_queries()
    assert shown == 2
    add_comments(28)
    many, shown = list_queries()
    assert shown == 30

    assert few == many
    assert many == 3  # the count, the page and one grouped query of reactions
