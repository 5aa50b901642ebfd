"""Threads and reactions end to end, through nginx with the real workers: a reply tells
the thread (and nobody twice, never the actor, nobody who left the project), reactions
count right for two users, bad input is problem+json and changes nothing, and the
activity log and webhooks carry the new events."""

from __future__ import annotations

import time

from scripts.toolkit.waiting import wait_for
from tests.support.api import ApiClient, notifications, team

PROBLEM = "application/problem+json"
# The notification worker trusts a project's member list this long (its default).
MEMBERSHIP_CACHE_SECONDS = 5.0


def _member(api: ApiClient, owner, project: dict, role: str = "member"):
    account = api.account()
    added = api.post(
        f"/api/projects/{project['id']}/members",
        token=owner.access_token,
        json={"user_id": account.id, "role": role},
    )
    assert added.status_code == 201, added.text
    return account


def _comment(api: ApiClient, account, task_id: int, content: str, parent_id=None) -> dict:
    body = (
        {"content": content} if parent_id is None else {"content": content, "parent_id": parent_id}
    )
    response = api.post(f"/api/tasks/{task_id}/comments", token=account.access_token, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_a_reply_notifies_the_thread_once_each(api, webhook_receiver):
    owner, author, project = team(api)
    replier, leaver, replying = (_member(api, owner, project) for _ in range(3))
    task = api.post(
        f"/api/projects/{project['id']}/tasks", token=owner.access_token, json={"title": "Plan"}
    ).json()
    hook = api.post(
        "/api/webhooks",
        token=owner.access_token,
        json={"url": webhook_receiver.url + "/threads", "event_types": ["comment.replied"]},
    )
    assert hook.status_code == 201, hook.text

    top = _comment(api, author, task["id"], "Which way?")
    _comment(api, replier, task["id"], "Left", parent_id=top["id"])
    earlier = _comment(api, leaver, task["id"], "Right", parent_id=top["id"])
    removed = api.delete(
        f"/api/projects/{project['id']}/members/{leaver.id}", token=owner.access_token
    )
    assert removed.status_code == 204, removed.text
    time.sleep(MEMBERSHIP_CACHE_SECONDS + 0.5)  # the removal in force on every channel
    # A reply to a reply joins the top-level comment's thread.
    reply = _comment(api, replying, task["id"], "Both, then", parent_id=earlier["id"])
    assert reply["parent_id"] == top["id"]

    def replied_to(account) -> list[dict]:
        return [
            n
            for n in notifications(api, account, "comment.replied")
            if n["data"].get("comment_id") == reply["id"]
        ]

    assert wait_for(lambda: replied_to(author) and replied_to(replier), timeout=30)
    [notice] = replied_to(author)
    assert notice["title"] == f"{replying.username} replied on Plan"
    # The owner reported the task, outside the thread: told of a comment, not of a reply.
    assert wait_for(
        lambda: [
            n
            for n in notifications(api, owner, "comment.created")
            if n["data"].get("comment_id") == reply["id"]
        ],
        timeout=30,
    )
    # The worker has handled the reply's events by now: these are final.
    assert replied_to(owner) == [] and replied_to(replying) == [] and replied_to(leaver) == []
    assert len(replied_to(replier)) == 1
    assert [
        n
        for n in notifications(api, author, "comment.created")
        if n["data"].get("comment_id") == reply["id"]
    ] == []

    received = wait_for(
        lambda: [r for r in webhook_receiver.requests if r.path == "/threads"], timeout=30
    )
    assert received[0].json()["type"] == "comment.replied"
    assert received[0].json()["data"]["thread"]["parent_id"] == top["id"]

    shown = api.get(f"/api/comments/{top['id']}", token=owner.access_token).json()
    assert shown["reply_count"] == 3
    replies = api.get(f"/api/comments/{top['id']}/replies", token=owner.access_token).json()
    assert [c["content"] for c in replies["items"]] == ["Left", "Right", "Both, then"]
    listed = api.get(f"/api/tasks/{task['id']}/comments", token=owner.access_token).json()
    assert [c["id"] for c in listed["items"]] == [top["id"]]


def test_reactions_count_right_for_two_users_and_reach_the_activity_log(api):
    owner, member, project = team(api)
    task = api.post(
        f"/api/projects/{project['id']}/tasks", token=owner.access_token, json={"title": "Go"}
    ).json()
    comment = _comment(api, member, task["id"], "Shipped!")
    url = f"/api/comments/{comment['id']}/reactions"

    for account, name in ((owner, "hooray"), (member, "hooray"), (owner, "rocket")):
        response = api.put(f"{url}/{name}", token=account.access_token)
        assert response.status_code == 200, response.text
    again = api.put(f"{url}/%2B1", token=member.access_token)
    assert again.status_code == 200
    api.put(f"{url}/%2B1", token=member.access_token)  # idempotent
    taken_back = api.delete(f"{url}/rocket", token=owner.access_token)
    assert taken_back.status_code == 204

    def reactions(account) -> list[dict]:
        listed = api.get(f"/api/tasks/{task['id']}/comments", token=account.access_token)
        return listed.json()["items"][0]["reactions"]

    assert reactions(owner) == [
        {"name": "+1", "count": 1, "me": False},
        {"name": "hooray", "count": 2, "me": True},
    ]
    assert reactions(member) == [
        {"name": "+1", "count": 1, "me": True},
        {"name": "hooray", "count": 2, "me": True},
    ]

    def logged() -> list[str] | None:
        response = api.get(
            f"/api/activities?project_id={project['id']}&entity_type=comment",
            token=owner.access_token,
        )
        actions = [item["action"] for item in response.json()["items"]]
        return actions if actions.count("comment.reaction_added") == 4 else None

    actions = wait_for(logged, timeout=30)
    assert actions.count("comment.reaction_removed") == 1


def test_bad_input_is_problem_json_and_changes_nothing(api):
    owner, member, project = team(api)
    tasks = [
        api.post(
            f"/api/projects/{project['id']}/tasks", token=owner.access_token, json={"title": t}
        ).json()
        for t in ("One", "Two")
    ]
    on_two = _comment(api, member, tasks[1]["id"], "On task two")
    on_one = _comment(api, member, tasks[0]["id"], "On task one")

    cross = api.post(
        f"/api/tasks/{tasks[0]['id']}/comments",
        token=member.access_token,
        json={"content": "Reply", "parent_id": on_two["id"]},
    )
    unknown = api.put(
        f"/api/comments/{on_one['id']}/reactions/thumbs_up", token=member.access_token
    )

    for response in (cross, unknown):
        assert response.status_code == 422, response.text
        assert response.headers["Content-Type"] == PROBLEM
        assert response.json()["code"] == "validation_error"
    for task, comment in ((tasks[0], on_one), (tasks[1], on_two)):
        listed = api.get(f"/api/tasks/{task['id']}/comments", token=owner.access_token).json()
        assert [c["id"] for c in listed["items"]] == [comment["id"]]
        assert listed["items"][0]["reply_count"] == 0
        assert listed["items"][0]["reactions"] == []
