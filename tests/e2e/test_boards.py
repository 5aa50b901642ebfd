"""Boards and watchers through nginx, with the real workers: two clients moving cards at
once end with every column in a strict order that is the replay of their moves; who is
told about a task (its watchers, by their preferences, never the actor, nobody who left
the project); and bad moves and watches that change nothing."""

from __future__ import annotations

import random
import threading
import time

from scripts.toolkit.waiting import wait_for
from tests.support.api import Account, ApiClient, notifications, team

PROBLEM = "application/problem+json"
COLUMNS = ("todo", "in_progress")
MOVES_PER_CLIENT = 100
# How long the notification service keeps a task's watchers (MEMBERSHIP_CACHE_SECONDS).
WATCHERS_CACHED = 5.0


def _board(api: ApiClient, project: dict, who: Account) -> dict[str, list[dict]]:
    board = {}
    for status in COLUMNS:
        response = api.get(
            f"/api/projects/{project['id']}/tasks",
            token=who.access_token,
            params={"status": status, "sort": "position", "per_page": 200},
        )
        assert response.status_code == 200, response.text
        board[status] = response.json()["items"]
    return board


def _replay(columns: dict[str, list[int]], moves: list[tuple[str, int, dict]]) -> None:
    """Apply successful moves, in the order the service made them, to ``columns``."""
    for _, task_id, body in sorted(moves):
        source = next(status for status, ids in columns.items() if task_id in ids)
        target = body.get("status", source)
        columns[source].remove(task_id)
        column = columns[target]
        if "after_id" in body:
            column.insert(column.index(body["after_id"]) + 1, task_id)
        elif "before_id" in body:
            column.insert(column.index(body["before_id"]), task_id)
        else:
            column.append(task_id)


def test_two_clients_moving_cards_at_once_end_in_the_order_of_their_moves(api, platform):
    owner, member, project = team(api)
    tasks = [
        api.post(
            f"/api/projects/{project['id']}/tasks",
            token=owner.access_token,
            json={"title": f"Card {n}", "status": COLUMNS[n % 2]},
        ).json()["id"]
        for n in range(16)
    ]
    start = {
        status: [t["id"] for t in items] for status, items in _board(api, project, owner).items()
    }
    assert sorted(start["todo"] + start["in_progress"]) == sorted(tasks)
    moves: list[tuple[str, int, dict]] = []
    refused: list[int] = []
    failures: list[str] = []

    def client(who: Account, seed: int) -> None:
        rng = random.Random(seed)
        mine = ApiClient(platform.url)
        # Where this client last saw each card: a neighbour is named in its column (the
        # other client may have moved it since; then the move is refused).
        seen = {task_id: status for status, ids in start.items() for task_id in ids}
        for _ in range(MOVES_PER_CLIENT):
            task_id, neighbour = rng.sample(tasks, 2)
            where = rng.random()
            if where < 0.45:
                body = {"status": seen[neighbour], "after_id": neighbour}
            elif where < 0.9:
                body = {"status": seen[neighbour], "before_id": neighbour}
            else:
                body = {"status": rng.choice(COLUMNS)}
            response = mine.post(f"/api/tasks/{task_id}/move", token=who.access_token, json=body)
            if response.status_code == 200:
                moves.append((response.json()["updated_at"], task_id, body))
                seen[task_id] = response.json()["status"]
            elif response.status_code == 422:
                # The neighbour was in another column by then: refused, nothing changed.
                assert response.headers["Content-Type"] == PROBLEM
                refused.append(task_id)
                board = _board(mine, project, who)
                seen = {item["id"]: status for status, items in board.items() for item in items}
            else:
                failures.append(f"{response.status_code} {response.text}")

    threads = [
        threading.Thread(target=client, args=(who, seed))
        for seed, who in enumerate((owner, member))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert len(moves) + len(refused) == 2 * MOVES_PER_CLIENT
    assert len(moves) > MOVES_PER_CLIENT  # most moves land
    final = _board(api, project, owner)
    for items in final.values():
        positions = [item["position"] for item in items]
        assert positions == sorted(set(positions)), "a strict order: no place twice"
    expected = {status: list(ids) for status, ids in start.items()}
    _replay(expected, moves)
    assert {status: [item["id"] for item in items] for status, items in final.items()} == expected


def _account(platform) -> Account:
    """A new user, signed up from an address of its own (the sign-up limit is per IP)."""
    return ApiClient(platform.url).account()


def test_watchers_hear_about_a_task_by_their_preferences_and_leavers_do_not(api, platform, smtp):
    owner, member, project = team(api)
    viewer, commenter, mentioned, leaver, outsider = (_account(platform) for _ in range(5))
    for who, role in (
        (viewer, "viewer"),
        (commenter, "member"),
        (mentioned, "member"),
        (leaver, "member"),
    ):
        added = api.post(
            f"/api/projects/{project['id']}/members",
            token=owner.access_token,
            json={"user_id": who.id, "role": role},
        )
        assert added.status_code == 201, added.text
    task = api.post(
        f"/api/projects/{project['id']}/tasks",
        token=owner.access_token,
        json={"title": "Watch this space", "assignee_id": member.id},
    ).json()
    url = f"/api/tasks/{task['id']}"
    for who in (viewer, leaver):
        watched = api.post(f"{url}/watch", token=who.access_token)
        assert watched.status_code == 200 and watched.json()["watching"] is True
    # Watching a task you cannot see: 404, and no watch.
    refused = api.post(f"{url}/watch", token=outsider.access_token)
    assert refused.status_code == 404 and refused.headers["Content-Type"] == PROBLEM
    # The mentioned user wants e-mail only for status changes.
    preferences = api.put(
        "/api/notifications/preferences",
        token=mentioned.access_token,
        json={"preferences": {"task.status_changed": {"in_app": False, "email": True}}},
    )
    assert preferences.status_code == 200, preferences.text
    comment = api.post(
        f"{url}/comments",
        token=commenter.access_token,
        json={"content": f"@{mentioned.username} can you look?"},
    )
    assert comment.status_code == 201, comment.text

    def watchers() -> list[int]:
        response = api.get(f"{url}/watchers", token=viewer.access_token)
        assert response.status_code == 200
        return [item["user_id"] for item in response.json()["items"]]

    # The project-task worker makes the commenter and the mentioned watch.
    wait_for(lambda: {commenter.id, mentioned.id} <= set(watchers()), timeout=30)
    removed = api.delete(
        f"/api/projects/{project['id']}/members/{leaver.id}", token=owner.access_token
    )
    assert removed.status_code == 204
    assert leaver.id not in watchers()
    assert api.delete(f"{url}/watch", token=owner.access_token).status_code == 204
    assert sorted(watchers()) == sorted([member.id, viewer.id, commenter.id, mentioned.id])
    # Whatever the notification service cached of this task's watchers has expired.
    time.sleep(WATCHERS_CACHED + 0.5)

    changed = api.patch(url, token=member.access_token, json={"status": "in_progress"})
    assert changed.status_code == 200
    for who in (viewer, commenter):
        [notice] = wait_for(lambda who=who: notifications(api, who, "task.status_changed"))
        assert "Watch this space" in notice["title"] + notice["body"]
    wait_for(lambda: [m for m in smtp.to(mentioned.email) if "Watch this space" in m["Subject"]])
    time.sleep(1.0)
    assert notifications(api, mentioned, "task.status_changed") == []
    for who in (member, owner, leaver, outsider):  # the actor, an unwatcher, a leaver, nobody
        assert notifications(api, who, "task.status_changed") == []
    assert [m for m in smtp.to(leaver.email) if "is now" in m["Subject"]] == []


def test_bad_moves_and_watches_change_nothing(api, platform):
    owner, member, project = team(api)
    other_owner, _, other_project = team(ApiClient(platform.url))
    mine = [
        api.post(
            f"/api/projects/{project['id']}/tasks", token=owner.access_token, json={"title": t}
        ).json()
        for t in ("a", "b")
    ]
    elsewhere = api.post(
        f"/api/projects/{other_project['id']}/tasks",
        token=other_owner.access_token,
        json={"title": "elsewhere"},
    ).json()
    url = f"/api/tasks/{mine[0]['id']}"
    before = api.get(url, token=member.access_token).json()
    for body in (
        {"after_id": elsewhere["id"]},
        {"before_id": elsewhere["id"]},
        {"after_id": mine[0]["id"]},
        {"status": "nowhere"},
        {"after_id": "b"},
    ):
        response = api.post(f"{url}/move", token=member.access_token, json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["Content-Type"] == PROBLEM
        assert response.json()["code"] == "validation_error"
    response = api.post(
        f"{url}/move",
        token=member.access_token,
        data="{not json",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400 and response.headers["Content-Type"] == PROBLEM
    assert api.get(url, token=member.access_token).json() == before
    # A task of a project you are not in: 404 to move it, watch it or list its watchers.
    stranger = _account(platform)
    for method, path, body in (
        ("post", "move", {}),
        ("post", "watch", None),
        ("put", "watchers/me", None),
        ("get", "watchers", None),
    ):
        response = getattr(api, method)(
            f"{url}/{path}", token=stranger.access_token, **({"json": body} if body else {})
        )
        assert response.status_code == 404, (method, path, response.text)
        assert response.headers["Content-Type"] == PROBLEM
    watchers = api.get(f"{url}/watchers", token=owner.access_token).json()["items"]
    assert [w["user_id"] for w in watchers] == [owner.id]
    assert api.get(url, token=member.access_token).json() == before
