"""Threads: replies attached to the top-level comment, reply_count, the replies list,
tombstones for deleted top-level comments with replies, and the events a reply makes."""

from __future__ import annotations

import pytest

from services.comment.models import Comment, OutboxEvent, Reaction

PROBLEM = "application/problem+json"


@pytest.fixture
def reply(client, team, people):
    """``reply(parent_id, content, by=people.member)``: a reply on the team's task."""

    def post(parent_id: int, content: str = "Agreed", by=None) -> dict:
        response = client.post(
            team.url,
            json={"content": content, "parent_id": parent_id},
            headers=(by or people.member).headers,
        )
        assert response.status_code == 201, response.json
        return response.json

    return post


def get(client, url: str, account) -> dict:
    response = client.get(url, headers=account.headers)
    assert response.status_code == 200, response.json
    return response.json


def test_a_reply_joins_the_thread_and_the_task_list_shows_top_level_comments(
    client, team, people, post_comment, reply
):
    top = post_comment("Shall we ship?", by=people.owner)
    assert (top["parent_id"], top["reply_count"], top["deleted"]) == (None, 0, False)
    assert top["reactions"] == []

    answer = reply(top["id"], "Yes", by=people.member)

    assert answer["parent_id"] == top["id"] and answer["reply_count"] == 0
    listed = get(client, team.url, people.viewer)
    assert [c["id"] for c in listed["items"]] == [top["id"]] and listed["total"] == 1
    assert listed["items"][0]["reply_count"] == 1
    replies = get(client, f"/api/comments/{top['id']}/replies", people.viewer)
    assert replies["items"] == [answer] and replies["total"] == 1
    assert get(client, f"/api/comments/{answer['id']}", people.viewer) == answer


def test_a_reply_to_a_reply_attaches_to_the_top_level_comment(client, people, post_comment, reply):
    top = post_comment("Question")
    first = reply(top["id"], "Answer", by=people.admin)

    second = reply(first["id"], "Answer to the answer", by=people.owner)

    assert second["parent_id"] == top["id"]
    assert get(client, f"/api/comments/{top['id']}", people.member)["reply_count"] == 2
    replies = get(client, f"/api/comments/{top['id']}/replies", people.member)
    assert [c["id"] for c in replies["items"]] == [first["id"], second["id"]]
    # A reply has no thread of its own.
    assert get(client, f"/api/comments/{first['id']}/replies", people.member)["total"] == 0


def test_a_reply_records_comment_replied_with_the_threads_participants(
    people, post_comment, reply, outbox
):
    top = post_comment("Question", by=people.owner)
    reply(top["id"], "One", by=people.admin)
    reply(top["id"], "Two", by=people.owner)

    last = reply(top["id"], f"Three, cc @{people.viewer.username}", by=people.member)

    replied = outbox("comment.replied")
    assert [e["entity"]["id"] for e in replied][-1] == last["id"]
    thread = replied[-1]["data"]["thread"]
    assert thread == {
        "parent_id": top["id"],
        "participant_ids": sorted({people.owner.id, people.admin.id}),
    }
    assert replied[-1]["data"]["mentioned_user_ids"] == [people.viewer.id]
    created = outbox("comment.created")[-1]
    assert created["entity"]["id"] == last["id"] and created["data"]["thread"] == thread
    assert outbox("comment.created")[0]["data"].get("thread") is None
    assert len(replied) == 3


@pytest.mark.parametrize("where", ["other task", "other project", "missing"])
def test_replying_to_a_comment_on_another_task_is_422_and_writes_nothing(
    client, team, people, project_task_service, post_comment, count_rows, where
):
    if where == "missing":
        parent_id = 999_999
    else:
        project = team.project
        if where == "other project":
            project = project_task_service.project(people.owner)
            project_task_service.add_member(project, people.member, "member", by=people.owner)
        other = project_task_service.task(project, by=people.owner)
        response = client.post(
            f"/api/tasks/{other['id']}/comments",
            json={"content": "Elsewhere"},
            headers=people.member.headers,
        )
        parent_id = response.json["id"]
    before = (count_rows(Comment), count_rows(OutboxEvent))

    response = client.post(
        team.url, json={"content": "Reply", "parent_id": parent_id}, headers=people.member.headers
    )

    assert response.status_code == 422 and response.mimetype == PROBLEM
    assert response.json["code"] == "validation_error"
    assert response.json["errors"] == {"parent_id": ["No such comment on this task to reply to."]}
    assert (count_rows(Comment), count_rows(OutboxEvent)) == before


@pytest.mark.parametrize("parent_id", [0, -1, "x", 2**31, 1.5])
def test_a_malformed_parent_id_is_422(client, team, people, count_rows, parent_id):
    response = client.post(
        team.url, json={"content": "Reply", "parent_id": parent_id}, headers=people.member.headers
    )
    assert response.status_code == 422 and response.mimetype == PROBLEM
    assert count_rows(Comment) == 0


def test_a_viewer_cannot_reply_and_a_stranger_sees_no_thread(
    client, team, people, post_comment, count_rows
):
    top = post_comment()

    refused = client.post(
        team.url, json={"content": "Me too", "parent_id": top["id"]}, headers=people.viewer.headers
    )
    hidden = client.get(f"/api/comments/{top['id']}/replies", headers=people.stranger.headers)
    missing = client.get("/api/comments/999999/replies", headers=people.member.headers)

    assert refused.status_code == 403 and refused.mimetype == PROBLEM
    assert hidden.status_code == 404 and hidden.json["detail"] == "No such comment."
    assert missing.status_code == 404 and missing.mimetype == PROBLEM
    assert count_rows(Comment) == 1


def test_replies_list_in_pages_with_links(client, people, post_comment, reply):
    top = post_comment()
    ids = [reply(top["id"], f"#{n}")["id"] for n in range(5)]

    page = client.get(
        f"/api/comments/{top['id']}/replies?per_page=2&page=2", headers=people.viewer.headers
    )

    assert [c["id"] for c in page.json["items"]] == ids[2:4]
    assert (page.json["total"], page.json["pages"]) == (5, 3)
    assert 'rel="next"' in page.headers["Link"] and 'rel="prev"' in page.headers["Link"]
    too_many = client.get(
        f"/api/comments/{top['id']}/replies?per_page=500", headers=people.viewer.headers
    )
    assert too_many.status_code == 422 and too_many.mimetype == PROBLEM


def test_a_reply_does_not_change_the_etag_its_author_edits_with(
    client, people, post_comment, reply
):
    top = post_comment("v1")
    url = f"/api/comments/{top['id']}"
    etag = client.get(url, headers=people.member.headers).headers["ETag"]

    reply(top["id"], "Answer", by=people.admin)

    edited = client.patch(
        url, json={"content": "v2"}, headers={**people.member.headers, "If-Match": etag}
    )
    assert edited.status_code == 200 and edited.json["reply_count"] == 1
    assert edited.json["updated_at"] > top["updated_at"]


def test_deleting_a_top_level_comment_with_replies_leaves_a_readable_tombstone(
    client, team, people, post_comment, reply, outbox, count_rows
):
    top = post_comment(f"Hi @{people.viewer.username}", by=people.member)
    answer = reply(top["id"], "Hello", by=people.admin)
    url = f"/api/comments/{top['id']}"
    client.put(f"{url}/reactions/heart", headers=people.admin.headers)

    deleted = client.delete(url, headers=people.member.headers)

    assert deleted.status_code == 204
    tombstone = get(client, url, people.viewer)
    assert tombstone["deleted"] is True and tombstone["content"] == ""
    assert tombstone["mentions"] == [] and tombstone["reactions"] == []
    assert tombstone["reply_count"] == 1
    assert [c["id"] for c in get(client, team.url, people.viewer)["items"]] == [top["id"]]
    assert get(client, f"{url}/replies", people.viewer)["items"][0]["id"] == answer["id"]
    [event] = outbox("comment.deleted")
    assert event["data"]["tombstone"] is True and event["entity"]["id"] == top["id"]
    assert count_rows(Reaction) == 0
    # A tombstone is not edited, reacted to or deleted again.
    for response in (
        client.patch(url, json={"content": "Back"}, headers=people.member.headers),
        client.put(url, json={"content": "Back"}, headers=people.member.headers),
        client.put(f"{url}/reactions/eyes", headers=people.admin.headers),
    ):
        assert response.status_code == 409 and response.mimetype == PROBLEM
        assert response.json["code"] == "conflict"
    assert client.delete(url, headers=people.member.headers).status_code == 204
    assert len(outbox("comment.deleted")) == 1
    assert get(client, url, people.viewer)["content"] == ""
    # The thread still takes replies; when the last reply goes, so does the tombstone.
    late = reply(top["id"], "Still here?", by=people.owner)
    assert get(client, url, people.viewer)["reply_count"] == 2
    for each in (answer, late):
        gone = client.delete(f"/api/comments/{each['id']}", headers=people.owner.headers)
        assert gone.status_code == 204
    assert client.get(url, headers=people.viewer.headers).status_code == 404
    assert count_rows(Comment) == 0


def test_deleting_a_reply_counts_it_out_and_a_lone_comment_goes_entirely(
    client, people, post_comment, reply, count_rows
):
    top = post_comment()
    first, second = reply(top["id"], "1"), reply(top["id"], "2")
    alone = post_comment("Nobody answers")

    for each in (first, alone):
        gone = client.delete(f"/api/comments/{each['id']}", headers=people.member.headers)
        assert gone.status_code == 204
    assert get(client, f"/api/comments/{top['id']}", people.viewer)["reply_count"] == 1
    lone = client.get(f"/api/comments/{alone['id']}", headers=people.viewer.headers)
    assert lone.status_code == 404
    assert count_rows(Comment) == 2
    replies = get(client, f"/api/comments/{top['id']}/replies", people.viewer)["items"]
    assert [c["id"] for c in replies] == [second["id"]]


def test_a_deleted_task_takes_its_threads_and_reactions(
    client, app, team, people, post_comment, reply, envelope, consume, count_rows
):
    top = post_comment()
    reply(top["id"])
    client.put(f"/api/comments/{top['id']}/reactions/rocket", headers=people.admin.headers)
    assert (count_rows(Comment), count_rows(Reaction)) == (2, 1)

    consume(
        envelope(
            "task.deleted",
            actor=people.owner,
            entity=("task", team.task["id"]),
            project_id=team.project["id"],
        )
    )

    assert (count_rows(Comment), count_rows(Reaction)) == (0, 0)
