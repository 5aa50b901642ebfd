"""Races against the real thing: two gunicorn replicas of the user service (two workers
each) on one database, hit by many requests released at the same instant.

The lockout must hold however the requests interleave: at most ``LOGIN_MAX_FAILURES``
passwords are checked before the account locks, whether the guesses come through login
or through ``current_password``. A password-reset token works once, also when two
requests bring it at the same time.
"""

from __future__ import annotations

import base64
import json
import os
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
import requests

from scripts import stack
from scripts.toolkit.processes import Process, free_port
from scripts.toolkit.waiting import wait_for
from services.common.registry import SERVICES

MAX_FAILURES = 5
PASSWORD = "correct horse battery"
RESET_QUEUE = SERVICES["notification"].queue


@pytest.fixture(scope="module")
def replicas(backing, tmp_path_factory):
    """Base URLs of two gunicorn replicas of the user service sharing one database."""
    tmp = tmp_path_factory.mktemp("user-replicas")
    user = SERVICES["user"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "COV"))}
    env.update(
        DATABASE_URL=backing.database_url("user_races"),
        REDIS_URL=backing.redis_url,
        WEB_CONCURRENCY="2",
        LOG_LEVEL="WARNING",
        VAR_DIR=str(tmp),
        PROMETHEUS_MULTIPROC_DIR=str(tmp),
        LOGIN_MAX_FAILURES=str(MAX_FAILURES),
        RATELIMIT_AUTH="100000/minute",
        RATELIMIT_USER="100000/minute",
    )
    stack.migrate(user, env)
    processes = []
    for index in range(2):
        port = free_port()
        command = stack.gunicorn_command(user, port)
        processes.append(Process(f"user-{index}", command, env, tmp / f"user-{index}.log", port))
    try:
        for process in processes:
            process.start()
        yield [f"http://127.0.0.1:{process.port}" for process in processes]
    finally:
        for process in processes:
            process.stop()


def at_once(calls: list[Callable[[requests.Session], requests.Response]]) -> list[int]:
    """Run every call on its own thread and connection, released together; the statuses."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[requests.Session], requests.Response]) -> int:
        with requests.Session() as session:
            barrier.wait(timeout=30)
            return call(session).status_code

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def register(url: str, username: str) -> dict:
    body = {"username": username, "email": f"{username}@example.com", "password": PASSWORD}
    response = requests.post(f"{url}/api/register", json=body, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()


def login(url: str, username: str, password: str, session=requests) -> requests.Response:
    body = {"username": username, "password": password}
    return session.post(f"{url}/api/login", json=body, timeout=30)


def test_thirty_parallel_wrong_passwords_get_five_checks(replicas):
    register(replicas[0], "racer")

    statuses = at_once(
        [
            lambda s, url=replicas[i % 2], i=i: login(url, "racer", f"guess {i}", s)
            for i in range(30)
        ]
    )

    counts = Counter(statuses)
    assert counts[401] == MAX_FAILURES, counts
    assert counts[429] == 30 - MAX_FAILURES, counts
    locked = login(replicas[1], "racer", PASSWORD)
    assert locked.status_code == 429 and locked.json()["code"] == "account_locked"
    assert int(locked.headers["Retry-After"]) > 800


def test_login_and_current_password_guesses_share_the_same_five(replicas):
    register(replicas[0], "thief-target")
    token = login(replicas[0], "thief-target", PASSWORD).json()["access_token"]
    stolen = {"Authorization": f"Bearer {token}"}

    def change_email(session, url, i):
        body = {"email": f"thief{i}@example.com", "current_password": f"guess {i}"}
        return session.patch(f"{url}/api/users/me", json=body, headers=stolen, timeout=30)

    statuses = at_once(
        [
            (
                (lambda s, url=replicas[i % 2], i=i: change_email(s, url, i))
                if i % 3
                else (lambda s, url=replicas[i % 2], i=i: login(url, "thief-target", f"g{i}", s))
            )
            for i in range(30)
        ]
    )

    counts = Counter(statuses)
    assert counts[401] + counts[422] == MAX_FAILURES, counts
    assert counts[429] == 30 - MAX_FAILURES, counts
    right = {"email": "thief@example.com", "current_password": PASSWORD}
    refused = requests.patch(f"{replicas[1]}/api/users/me", json=right, headers=stolen, timeout=10)
    assert refused.status_code == 429 and refused.json()["code"] == "account_locked"
    me = requests.get(f"{replicas[0]}/api/users/me", headers=stolen, timeout=10).json()
    assert me["email"] == "thief-target@example.com"


def reset_token_sent_to(email: str, redis_url: str) -> str | None:
    """The reset token as the notification worker receives it: from its queue."""
    broker = redis.Redis.from_url(redis_url)
    for raw in broker.lrange(RESET_QUEUE, 0, -1):
        message = json.loads(raw)
        [envelope], _, _ = json.loads(base64.b64decode(message["body"]))
        data = envelope.get("data") or {}
        if envelope["type"] == "user.password_reset_requested" and data.get("email") == email:
            return data["reset_token"]
    return None


@pytest.mark.parametrize("round_", range(3))
def test_two_parallel_resets_with_one_token_one_wins(replicas, backing, round_):
    username = f"resetter{round_}"
    register(replicas[0], username)
    email = f"{username}@example.com"
    forgot = requests.post(f"{replicas[0]}/api/password/forgot", json={"email": email}, timeout=10)
    assert forgot.status_code == 202
    token = wait_for(lambda: reset_token_sent_to(email, backing.redis_url), timeout=10)
    assert token

    statuses = at_once(
        [
            lambda s, url=url, i=i: s.post(
                f"{url}/api/password/reset",
                json={"token": token, "new_password": f"new password {i}"},
                timeout=30,
            )
            for i, url in enumerate(replicas)
        ]
    )

    assert sorted(statuses) == [200, 422]
    winner = statuses.index(200)
    assert login(replicas[0], username, f"new password {winner}").status_code == 200
    assert login(replicas[1], username, f"new password {1 - winner}").status_code == 401
