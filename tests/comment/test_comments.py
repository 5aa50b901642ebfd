"""Comments on a task: who may read, write, edit and delete them, validation, ETag and
If-Match, Idempotency-Key, the author object and events."""

from __future__ import annotations

import pytest

from services.comment.models import Comment, OutboxEvent
from tests.support.probes import answers_alike, record_calls

PROBLEM = "application/problem+json"


def test_a_member_comments_and_everyone_on_the_project_reads_it(client, team, people, outbox):
    response = client.post(team.url, json={"content": "First!"}, headers=people.member.headers)

    assert response.status_code == 201
    comment = response.json
    assert response.headers["Location"] == f"/api/comments/{comment['id']}"
    assert comment["task_id"] == team.task["id"] and comment["author_id"] == people.member.id
    assert comment["author"] == {
        "id": people.member.id,
        "username": people.member.username,
        "full_name": None,
    }
    assert comment["content"] == "First!" and comment["mentions"] == []
    assert comment["edited"] is False and comment["created_at"].endswith("+00:00")
    for reader in (people.viewer, people.owner, people.admin, people.root):
        listed = client.get(team.url, headers=reader.headers)
        assert listed.status_code == 200 and listed.json["items"] == [comment]
        one = client.get(f"/api/comments/{comment['id']}", headers=reader.headers)
        assert one.json == comment and one.headers["ETag"] == response.headers["ETag"]
    [created] = outbox("comment.created")
    assert created["entity"] == {"type": "comment", "id": comment["id"]}
    assert created["project_id"] == team.project["id"]
    assert created["actor"] == {"id": people.member.id, "username": people.member.username}
    assert created["data"] == {
        "comment": {
            "id": comment["id"],
            "task_id": team.task["id"],
            "content": "First!",
            "author_id": people.member.id,
        },
        "task": {
            "id": team.task["id"],
            "title": team.task["title"],
            "assignee_id": None,
            "reporter_id": people.owner.id,
        },
    }
    assert outbox("comment.mentioned") == []


def test_the_event_carries_an_excerpt_of_a_long_comment(client, team, people, outbox):
    content = "word " * 1000
    response = client.post(team.url, json={"content": content}, headers=people.member.headers)

    assert response.status_code == 201 and response.json["content"] == content
    excerpt = outbox("comment.created")[0]["data"]["comment"]["content"]
    assert len(excerpt) == 200 and content.startswith(excerpt[:-1])


def test_a_viewer_reads_but_cannot_comment(client, team, people, post_comment, count_rows):
    post_comment("Hello")

    assert client.get(team.url, headers=people.viewer.headers).json["total"] == 1
    response = client.post(team.url, json={"content": "Me too"}, headers=people.viewer.headers)
    assert response.status_code == 403 and response.mimetype == PROBLEM
    assert response.json["code"] == "forbidden"
    assert count_rows(Comment) == 1


def test_a_stranger_gets_404_for_everything(client, team, people, post_comment, count_rows):
    comment = post_comment()
    url = f"/api/comments/{comment['id']}"
    headers = people.stranger.headers

    for response in (
        client.get(team.url, headers=headers),
        client.post(team.url, json={"content": "Hi"}, headers=headers),
        client.get(url, headers=headers),
        client.patch(url, json={"content": "Mine now"}, headers=headers),
        client.put(url, json={"content": "Mine now"}, headers=headers),
        client.delete(url, headers=headers),
    ):
        assert response.status_code == 404 and response.mimetype == PROBLEM
        assert response.json["code"] == "not_found"
    assert count_rows(Comment) == 1
    missing = client.get("/api/tasks/999999/comments", headers=people.member.headers)
    assert missing.status_code == 404
    assert client.get("/api/comments/999999", headers=people.member.headers).status_code == 404


def test_a_hidden_comment_answers_exactly_like_one_that_never_existed(
    client, people, post_comment, monkeypatch
):
    """Same status, body (but its request id) and headers, after the same calls to
    project-task, for every verb: the first look at each asks project-task once, the
    next ones are answered from the cache."""
    hidden = post_comment()["id"]
    missing = hidden + 1_000_000
    calls = record_calls(monkeypatch, "/internal/tasks/")
    attempts = [
        ("GET", "", {}),
        ("PUT", "", {"json": {"content": "Mine now"}}),
        ("PATCH", "", {"json": {"content": "Mine now"}}),
        ("DELETE", "", {}),
        ("DELETE", "", {"headers": {"If-Match": '"0"'}}),
    ]
    urls = (f"/api/comments/{hidden}", f"/api/comments/{missing}")

    status, body, _, _ = answers_alike(client, calls, urls, attempts, people.stranger.headers)

    assert (status, body["detail"]) == (404, "No such comment.")
    assert client.get(f"/api/comments/{hidden}", headers=people.member.headers).status_code == 200


def test_without_a_token_it_is_401(client, team):
    response = client.get(team.url)
    assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")


def test_authors_edit_their_own_comment(client, people, post_comment, outbox):
    comment = post_comment("Draft")
    url = f"/api/comments/{comment['id']}"

    patched = client.patch(url, json={"content": "Better"}, headers=people.member.headers)
    assert patched.status_code == 200
    assert patched.json["content"] == "Better" and patched.json["edited"] is True
    assert patched.json["updated_at"] >= comment["updated_at"]
    assert patched.headers["ETag"] == client.get(url, headers=people.viewer.headers).headers["ETag"]
    put = client.put(url, json={"content": "Best"}, headers=people.member.headers)
    assert put.status_code == 200 and put.json["content"] == "Best"
    assert client.get(url, headers=people.viewer.headers).json["content"] == "Best"
    updates = outbox("comment.updated")
    assert [u["changes"] for u in updates] == [
        {"content": ["Draft", "Better"]},
        {"content": ["Better", "Best"]},
    ]
    unchanged = client.patch(url, json={"content": "Best"}, headers=people.member.headers)
    assert unchanged.status_code == 200 and len(outbox("comment.updated")) == 2


def test_nobody_else_edits_a_comment_not_even_admins(client, people, post_comment):
    comment = post_comment("Mine")
    url = f"/api/comments/{comment['id']}"

    for other in (people.admin, people.owner, people.viewer, people.root):
        response = client.patch(url, json={"content": "Theirs"}, headers=other.headers)
        assert response.status_code == 403 and response.json["code"] == "forbidden"
    assert client.get(url, headers=people.member.headers).json["content"] == "Mine"


def test_project_admins_delete_any_comment_authors_their_own(
    client, team, people, post_comment, outbox, count_rows
):
    by_member = post_comment("Member's", by=people.member)
    by_admin = post_comment("Admin's", by=people.admin)
    by_owner = post_comment("Owner's", by=people.owner)

    refused = client.delete(f"/api/comments/{by_admin['id']}", headers=people.member.headers)
    assert refused.status_code == 403
    deleted = client.delete(f"/api/comments/{by_member['id']}", headers=people.admin.headers)
    assert deleted.status_code == 204 and deleted.data == b""
    assert (
        client.get(f"/api/comments/{by_member['id']}", headers=people.admin.headers).status_code
        == 404
    )
    own = client.delete(f"/api/comments/{by_admin['id']}", headers=people.admin.headers)
    assert own.status_code == 204
    # A global admin moderates even where they are no member.
    moderated = client.delete(f"/api/comments/{by_owner['id']}", headers=people.root.headers)
    assert moderated.status_code == 204
    assert count_rows(Comment) == 0
    events = outbox("comment.deleted")
    assert [(e["entity"]["id"], e["actor"]["id"]) for e in events] == [
        (by_member["id"], people.admin.id),
        (by_admin["id"], people.admin.id),
        (by_owner["id"], people.root.id),
    ]
    assert events[0]["data"]["task"]["title"] == team.task["title"]
    assert events[2]["data"]["task"]["id"] == team.task["id"]


def test_a_global_admin_who_is_no_member_reads_but_does_not_write(
    client, team, people, post_comment
):
    post_comment()

    assert client.get(team.url, headers=people.root.headers).json["total"] == 1
    response = client.post(team.url, json={"content": "Admin here"}, headers=people.root.headers)
    assert response.status_code == 403


def test_mentions_keep_only_project_members(client, team, people, outbox):
    content = (
        f"Hey @{people.viewer.username} and @{people.admin.username.upper()}, "
        f"ask @{people.stranger.username} or @nobody-at-all; mail x@{people.owner.username}. "
        f"Thanks @{people.member.username}."
    )
    response = client.post(team.url, json={"content": content}, headers=people.member.headers)

    assert response.status_code == 201
    assert response.json["mentions"] == sorted(
        [people.viewer.id, people.admin.id, people.member.id]
    )
    [mentioned] = outbox("comment.mentioned")
    # The author mentioning themself is recorded, but nobody notifies you of your own words.
    assert mentioned["data"]["mentioned_user_ids"] == sorted([people.viewer.id, people.admin.id])
    assert mentioned["data"]["comment"]["id"] == response.json["id"]
    assert mentioned["data"]["task"]["id"] == team.task["id"]
    assert mentioned["entity"] == {"type": "comment", "id": response.json["id"]}


def test_an_edit_announces_only_new_mentions(client, people, post_comment, outbox):
    comment = post_comment(f"cc @{people.viewer.username}")
    url = f"/api/comments/{comment['id']}"

    edited = client.patch(
        url,
        json={"content": f"cc @{people.viewer.username} @{people.owner.username}"},
        headers=people.member.headers,
    )

    assert edited.json["mentions"] == sorted([people.viewer.id, people.owner.id])
    assert [e["data"]["mentioned_user_ids"] for e in outbox("comment.mentioned")] == [
        [people.viewer.id],
        [people.owner.id],
    ]
    [updated] = outbox("comment.updated")
    assert updated["changes"]["mentions"] == [
        [people.viewer.id],
        sorted([people.viewer.id, people.owner.id]),
    ]
    client.patch(url, json={"content": "no one"}, headers=people.member.headers)
    assert len(outbox("comment.mentioned")) == 2


def test_a_page_of_authors_costs_one_call_to_the_user_service(
    app, client, team, people, post_comment, monkeypatch
):
    authors = (people.member, people.admin, people.owner, people.member, people.admin)
    for index, author in enumerate(authors):
        post_comment(f"comment {index}", by=author)
    app.extensions["profile_directory"].clear()
    calls = record_calls(monkeypatch, "/internal/users")

    first = client.get(f"{team.url}?per_page=3", headers=people.viewer.headers)
    second = client.get(f"{team.url}?per_page=3&page=2", headers=people.viewer.headers)

    assert [c["author"]["username"] for c in first.json["items"] + second.json["items"]] == [
        a.username for a in authors
    ]
    assert len(calls) == 1  # page 2's authors were all cached by page 1's call
    assert "ids=" in calls[0]
    app.extensions["profile_directory"].clear()
    everything = client.get(team.url, headers=people.viewer.headers)
    assert everything.json["total"] == 5 and len(calls) == 2


def test_task_access_is_asked_once_per_task_and_user_for_a_few_seconds(
    client, team, people, post_comment, monkeypatch
):
    comment = post_comment()
    calls = record_calls(monkeypatch, "/internal/tasks/")

    for _ in range(3):
        assert client.get(team.url, headers=people.viewer.headers).status_code == 200
        assert client.get(f"/api/comments/{comment['id']}", headers=people.viewer.headers)
    assert client.get(team.url, headers=people.stranger.headers).status_code == 404
    assert client.get(team.url, headers=people.stranger.headers).status_code == 404

    assert calls == [
        f"{calls[0].split('?')[0]}?user_id={people.viewer.id}",
        f"{calls[0].split('?')[0]}?user_id={people.stranger.id}",
    ]


def test_comments_list_oldest_first_with_pages_and_links(client, team, people, post_comment):
    ids = [post_comment(f"#{n}")["id"] for n in range(5)]

    page = client.get(f"{team.url}?per_page=2&page=2", headers=people.viewer.headers)

    assert [c["id"] for c in page.json["items"]] == ids[2:4]
    assert {k: page.json[k] for k in ("page", "per_page", "total", "pages")} == {
        "page": 2,
        "per_page": 2,
        "total": 5,
        "pages": 3,
    }
    assert 'rel="next"' in page.headers["Link"] and 'rel="prev"' in page.headers["Link"]
    bad = client.get(f"{team.url}?per_page=500", headers=people.viewer.headers)
    assert bad.status_code == 422


def test_idempotency_key_replays_the_first_response(client, team, people, count_rows):
    headers = {**people.member.headers, "Idempotency-Key": "comment-once"}

    first = client.post(team.url, json={"content": "Once"}, headers=headers)
    again = client.post(team.url, json={"content": "Once"}, headers=headers)
    other = client.post(team.url, json={"content": "Twice"}, headers=headers)

    assert first.status_code == 201 and again.status_code == 201
    assert again.json == first.json and again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == first.headers["Location"]
    assert other.status_code == 422 and other.json["code"] == "idempotency_key_reused"
    assert count_rows(Comment) == 1


def test_if_match_guards_edits_and_deletes(client, people, post_comment, count_rows):
    comment = post_comment("v1")
    url = f"/api/comments/{comment['id']}"
    etag = client.get(url, headers=people.member.headers).headers["ETag"]
    client.patch(url, json={"content": "v2"}, headers=people.member.headers)

    stale = {**people.member.headers, "If-Match": etag}
    refused = client.patch(url, json={"content": "v3"}, headers=stale)
    assert refused.status_code == 412 and refused.json["code"] == "precondition_failed"
    assert client.delete(url, headers=stale).status_code == 412
    assert client.get(url, headers=people.member.headers).json["content"] == "v2"
    current = client.get(url, headers=people.member.headers).headers["ETag"]
    fresh = {**people.member.headers, "If-Match": current}
    assert client.patch(url, json={"content": "v3"}, headers=fresh).status_code == 200
    assert client.delete(url, headers={**people.member.headers, "If-Match": "*"}).status_code == 204
    assert count_rows(Comment) == 0


@pytest.mark.parametrize(
    "body",
    [
        {"content": ""},
        {"content": "   \n\t"},
        {"content": "x" * 10_001},
        {"content": 5},
        {"content": None},
        {"content": ["a"]},
        {},
        {"content": "ok", "task_id": 3},
        ["content"],
    ],
)
def test_invalid_comments_are_422_and_write_nothing(client, team, people, count_rows, body):
    response = client.post(team.url, json=body, headers=people.member.headers)

    assert response.status_code == 422 and response.mimetype == PROBLEM
    assert response.json["code"] == "validation_error"
    assert count_rows(Comment) == 0 and count_rows(OutboxEvent) == 0


def test_invalid_edits_are_422_and_change_nothing(client, people, post_comment, outbox):
    comment = post_comment("Keep me")
    url = f"/api/comments/{comment['id']}"

    for method, body in (
        ("patch", {}),
        ("patch", {"content": ""}),
        ("put", {}),
        ("put", {"content": "x" * 10_001}),
        ("patch", {"content": 42}),
    ):
        response = getattr(client, method)(url, json=body, headers=people.member.headers)
        assert response.status_code == 422, (method, body)
    assert client.get(url, headers=people.member.headers).json["content"] == "Keep me"
    assert outbox("comment.updated") == []


def test_the_longest_comment_is_accepted(client, team, people):
    content = "é" * 10_000
    response = client.post(team.url, json={"content": content}, headers=people.member.headers)
    assert response.status_code == 201 and response.json["content"] == content


def test_malformed_or_non_json_bodies_are_refused(client, team, people, count_rows):
    malformed = client.post(
        team.url,
        data="{not json",
        content_type="application/json",
        headers=people.member.headers,
    )
    as_text = client.post(
        team.url, data="content=hi", content_type="text/plain", headers=people.member.headers
    )

    assert malformed.status_code == 400 and malformed.mimetype == PROBLEM
    assert as_text.status_code == 415 and as_text.json["code"] == "unsupported_media_type"
    assert count_rows(Comment) == 0


def test_project_task_down_is_503_not_a_guess(app, client, team, people, monkeypatch):
    monkeypatch.setitem(app.config, "PROJECT_TASK_SERVICE_URL", "http://127.0.0.1:9")

    response = client.get(team.url, headers=people.member.headers)

    assert response.status_code == 503 and response.json["code"] == "service_unavailable"
