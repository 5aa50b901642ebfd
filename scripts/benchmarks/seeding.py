"""scripts/bench's data: users and their tokens (an access token and a personal access
token with the ``tasks:read`` scope each) through the user service's API; one project
with all of them as members holding 10,000 tasks, and 20 other projects of 2,000 tasks
each, in bulk SQL (PostgreSQL), or in bulk into the SQLite file the embedded default
keeps them in (``scripts/bench --embedded``). Also the sign-up both benchmarks use."""

from __future__ import annotations

import random
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg2
import requests

from scripts.benchmarks.boot import Stack
from services.project_task.board import GAP  # the n-th seeded task of a project at n x GAP

PASSWORD = "bench password 12345"
BIG_PROJECT_TASKS = 10_000
OTHER_PROJECTS = 20
OTHER_PROJECT_TASKS = 2_000

SEED_TASKS = """
INSERT INTO tasks (project_id, title, description, status, priority, assignee_id,
                   reporter_id, due_date, estimated_hours, position, created_at, updated_at)
SELECT %(project)s, 'Bench task ' || g, 'Seeded by scripts/bench',
       (ARRAY['todo','in_progress','in_review','done','cancelled'])[1 + floor(random() * 5)::int],
       (ARRAY['low','medium','high','critical'])[1 + floor(random() * 4)::int],
       CASE WHEN random() < 0.15 THEN NULL
            ELSE (%(assignees)s::int[])[1 + floor(random() * cardinality(%(assignees)s::int[]))::int]
       END,
       %(reporter)s,
       CASE WHEN random() < 0.2 THEN NULL ELSE current_date + (floor(random() * 120)::int - 60) END,
       round((random() * 16)::numeric, 1)::float8,
       g * %(gap)s,
       now() - random() * interval '180 days',
       now() - random() * interval '30 days'
FROM generate_series(1, %(count)s) AS g
RETURNING id
"""
SEED_LABELS = """
INSERT INTO task_labels (task_id, label)
SELECT id, (ARRAY['backend','frontend','bug','ops','docs'])[1 + id %% 5]
FROM tasks WHERE project_id = %(project)s AND id %% 3 = 0
"""


@dataclass
class Seed:
    users: list[tuple[int, str]]  # (user id, access token)
    project_id: int
    task_ids: tuple[int, int]  # lowest and highest id of the big project's tasks
    tokens_file: Path
    personal_tokens_file: Path  # one personal access token (tasks:read) per user
    seconds: float = 0.0


def register_and_login(
    user_url: str, username: str, http: requests.Session | None = None
) -> tuple[int, str]:
    """Register ``username`` and sign in: its id and access token."""
    http = http or requests  # the module's functions when no session is given
    body = {"username": username, "email": f"{username}@example.com", "password": PASSWORD}
    for _ in range(20):  # a busy machine may answer 503 while the pools warm up
        response = http.post(f"{user_url}/api/register", json=body, timeout=30)
        if response.status_code != 503:
            break
        time.sleep(1)
    response.raise_for_status()
    response = http.post(
        f"{user_url}/api/login", json={"username": username, "password": PASSWORD}, timeout=30
    )
    response.raise_for_status()
    login = response.json()
    return login["user"]["id"], login["access_token"]


def api(method: str, url: str, token: str, body: dict | None = None) -> dict:
    response = requests.request(
        method, url, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    if response.status_code >= 400:
        raise RuntimeError(f"{method} {url}: {response.status_code} {response.text[:300]}")
    return response.json() if response.content else {}


def personal_token(user_url: str, access_token: str) -> str:
    """A personal access token of the user that may read tasks."""
    body = {"name": "bench", "scopes": ["tasks:read"], "current_password": PASSWORD}
    return api("POST", f"{user_url}/api/users/me/tokens", access_token, body)["token"]


def insert_tasks(cursor, project: int, reporter: int, assignees: list[int], count: int) -> list:
    cursor.execute(
        SEED_TASKS,
        {
            "project": project,
            "reporter": reporter,
            "assignees": assignees,
            "count": count,
            "gap": GAP,
        },
    )
    ids = [row[0] for row in cursor.fetchall()]
    cursor.execute(SEED_LABELS, {"project": project})
    return ids


# Bulk insert of the tasks: (big project, other projects, owner id, every user's id) ->
# the big project's task ids.
TaskLoader = Callable[[int, list[int], int, list[int]], list[int]]


def postgres_tasks(url: str) -> TaskLoader:
    """The tasks inserted in bulk SQL into project-task's PostgreSQL database at ``url``."""

    def load(project: int, others: list[int], owner_id: int, user_ids: list[int]) -> list[int]:
        connection = psycopg2.connect(url)
        with connection, connection.cursor() as cursor:
            ids = insert_tasks(cursor, project, owner_id, user_ids, BIG_PROJECT_TASKS)
            for other in others:
                insert_tasks(cursor, other, owner_id, [owner_id], OTHER_PROJECT_TASKS)
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        connection.close()
        return ids

    return load


def sqlite_tasks(path: Path) -> TaskLoader:
    """The same tasks (same distributions as :data:`SEED_TASKS`) inserted into
    project-task's SQLite file at ``path``, as the embedded default keeps them."""

    def rows(project: int, reporter: int, assignees: list[int], count: int) -> Iterator[tuple]:
        now = datetime.now(UTC)
        for n in range(1, count + 1):
            due = (
                None
                if random.random() < 0.2
                else date.today() + timedelta(random.randrange(-60, 60))
            )
            yield (
                project,
                f"Bench task {n}",
                "Seeded by scripts/bench",
                random.choice(("todo", "in_progress", "in_review", "done", "cancelled")),
                random.choice(("low", "medium", "high", "critical")),
                None if random.random() < 0.15 else random.choice(assignees),
                reporter,
                due.isoformat() if due else None,
                round(random.random() * 16, 1),
                n * GAP,
                _sqlite_time(now - timedelta(days=180 * random.random())),
                _sqlite_time(now - timedelta(days=30 * random.random())),
            )

    def insert(connection, project: int, reporter: int, assignees: list[int], count: int):
        connection.executemany(
            "INSERT INTO tasks (project_id, title, description, status, priority, assignee_id,"
            " reporter_id, due_date, estimated_hours, position, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows(project, reporter, assignees, count),
        )
        connection.execute(
            "INSERT INTO task_labels (task_id, label) SELECT id,"
            " CASE id % 5 WHEN 0 THEN 'backend' WHEN 1 THEN 'frontend' WHEN 2 THEN 'bug'"
            " WHEN 3 THEN 'ops' ELSE 'docs' END"
            " FROM tasks WHERE project_id = ? AND id % 3 = 0",
            (project,),
        )
        found = connection.execute("SELECT id FROM tasks WHERE project_id = ?", (project,))
        return [row[0] for row in found]

    def load(project: int, others: list[int], owner_id: int, user_ids: list[int]) -> list[int]:
        connection = sqlite3.connect(path, timeout=30)
        with connection:
            ids = insert(connection, project, owner_id, user_ids, BIG_PROJECT_TASKS)
            for other in others:
                insert(connection, other, owner_id, [owner_id], OTHER_PROJECT_TASKS)
        connection.execute("ANALYZE")
        connection.close()
        return ids

    return load


def _sqlite_time(moment: datetime) -> str:
    """A timestamp as SQLAlchemy stores it in SQLite (UTC, no offset)."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def seed(stack_: Stack, user_count: int, load_tasks: TaskLoader) -> Seed:
    """Users and tokens through the API; the projects' tasks in bulk by ``load_tasks``."""
    suffix = secrets.token_hex(3)
    names = [f"bench{index:03d}_{suffix}" for index in range(user_count)]
    with ThreadPoolExecutor(4) as pool:
        users = list(pool.map(lambda n: register_and_login(stack_.urls["user"], n), names))
    owner_id, owner_token = users[0]
    gateway = stack_.gateway
    project = api("POST", f"{gateway}/api/projects", owner_token, {"name": "Bench project"})
    members = f"{gateway}/api/projects/{project['id']}/members"
    with ThreadPoolExecutor(4) as pool:
        list(
            pool.map(
                lambda u: api("POST", members, owner_token, {"user_id": u[0], "role": "member"}),
                users[1:],
            )
        )
    others = [
        api("POST", f"{gateway}/api/projects", owner_token, {"name": f"Other project {n}"})["id"]
        for n in range(OTHER_PROJECTS)
    ]
    ids = load_tasks(project["id"], others, owner_id, [u[0] for u in users])
    tokens_file = stack_.workdir / "tokens.txt"
    tokens_file.write_text("".join(f"{token}\n" for _, token in users))
    tokens_file.chmod(0o600)
    with ThreadPoolExecutor(4) as pool:
        pats = list(pool.map(lambda u: personal_token(stack_.urls["user"], u[1]), users))
    personal_tokens_file = stack_.workdir / "personal_tokens.txt"
    personal_tokens_file.write_text("".join(f"{token}\n" for token in pats))
    personal_tokens_file.chmod(0o600)
    return Seed(users, project["id"], (min(ids), max(ids)), tokens_file, personal_tokens_file)
