"""A real comment worker (``celery -A services.comment.worker worker -Q comment``) removes
a task's comments when project-task deletes the task, and sweeps up again what was
written on a cached access answer after that: the event goes through project-task's
outbox, Redis and the worker, with nothing faked."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from scripts.toolkit.waiting import wait_for
from services.comment.models import Comment, ProcessedEvent
from services.common.cache import ExpiringCache
from services.common.task_access import CACHE_SIZE
from tests.support.worker import celery_worker


@pytest.fixture
def worker(app, user_service, project_task_service, tmp_path):
    """The worker as a subprocess on the test database and Redis; stopped afterwards."""
    with celery_worker(
        "comment",
        app,
        tmp_path / "worker.log",
        USER_SERVICE_URL=user_service.url,
        PROJECT_TASK_SERVICE_URL=project_task_service.url,
        # The follow-up sweep comes this + consumers.SWEEP_MARGIN_SECONDS after a deletion.
        TASK_ACCESS_CACHE_SECONDS="1",
    ) as process:
        yield process


def test_deleting_a_task_in_project_task_removes_its_comments(
    client, team, people, post_comment, project_task_service, database, worker
):
    post_comment("one")
    post_comment("two", by=people.admin)
    other_task = project_task_service.task(team.project, by=people.owner)
    kept = client.post(
        f"/api/tasks/{other_task['id']}/comments",
        json={"content": "stays"},
        headers=people.member.headers,
    ).json["id"]

    project_task_service.delete_task(team.task, by=people.owner)

    def task_comments_gone() -> bool:
        with database() as session:
            left = session.scalar(select(func.count()).where(Comment.task_id == team.task["id"]))
            processed = session.scalar(
                select(func.count())
                .select_from(ProcessedEvent)
                .where(ProcessedEvent.type == "task.deleted")
            )
            return left == 0 and processed >= 1

    assert wait_for(task_comments_gone, timeout=30), (
        "comments left; worker log:\n" + worker.log.read_text()
    )
    with database() as session:
        assert list(session.scalars(select(Comment.id))) == [kept]
    assert worker.poll() is None


def test_a_comment_written_on_a_cached_answer_after_the_cleanup_is_swept_up(
    app, team, people, post_comment, project_task_service, database, worker, monkeypatch
):
    # The API's cached "yes" outlives the consumer however slow this machine is.
    monkeypatch.setitem(app.extensions, "task_access", ExpiringCache(CACHE_SIZE, 60.0))
    first = post_comment("before the deletion")["id"]

    project_task_service.delete_task(team.task, by=people.owner)

    def comment_ids() -> set[int]:
        with database() as session:
            return set(session.scalars(select(Comment.id)))

    log = worker.log
    assert wait_for(lambda: first not in comment_ids(), timeout=30), (
        "not cleaned up:\n" + log.read_text()
    )
    late = post_comment("after the cleanup, on the cached answer")["id"]
    assert comment_ids() == {late}
    gone = wait_for(lambda: not comment_ids(), timeout=45)
    assert gone, "late comment left; worker log:\n" + log.read_text()
