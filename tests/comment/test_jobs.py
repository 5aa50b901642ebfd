"""The consumer job: a deleted task or project takes its comments with it, once per event;
a message that is no envelope is recorded as a failed job."""

from __future__ import annotations

from sqlalchemy import select

from services.comment.models import Comment, FailedJob, ProcessedEvent


def comment_ids(database) -> set[int]:
    with database() as session:
        return set(session.scalars(select(Comment.id)))


def test_task_deleted_removes_that_tasks_comments(
    client, team, people, post_comment, project_task_service, envelope, consume, database
):
    doomed = [post_comment("a")["id"], post_comment("b")["id"]]
    other_task = project_task_service.task(team.project, by=people.owner)
    kept = client.post(
        f"/api/tasks/{other_task['id']}/comments",
        json={"content": "stays"},
        headers=people.member.headers,
    ).json["id"]
    event = envelope(
        "task.deleted",
        actor=people.owner,
        entity=("task", team.task["id"]),
        project_id=team.project["id"],
        data={"task": team.task},
    )

    consume(event, event)

    assert comment_ids(database) == {kept}
    assert doomed[0] not in comment_ids(database)
    with database() as session:
        assert list(session.scalars(select(ProcessedEvent.event_id))) == [event["event_id"]]


def test_project_deleted_removes_every_comment_of_the_project(
    client, team, people, post_comment, project_task_service, envelope, consume, database
):
    post_comment("a")
    second_task = project_task_service.task(team.project, by=people.owner)
    client.post(
        f"/api/tasks/{second_task['id']}/comments",
        json={"content": "b"},
        headers=people.member.headers,
    )
    elsewhere = project_task_service.project(people.member)
    elsewhere_task = project_task_service.task(elsewhere, by=people.member)
    kept = client.post(
        f"/api/tasks/{elsewhere_task['id']}/comments",
        json={"content": "other project"},
        headers=people.member.headers,
    ).json["id"]

    consume(
        envelope(
            "project.deleted",
            actor=people.owner,
            entity=("project", team.project["id"]),
            project_id=team.project["id"],
        )
    )

    assert comment_ids(database) == {kept}


def test_other_events_change_nothing(post_comment, people, team, envelope, consume, database):
    post_comment()
    consume(envelope("task.updated", actor=people.owner, entity=("task", team.task["id"])))
    assert len(comment_ids(database)) == 1


def test_a_message_that_is_no_envelope_fails_at_once_and_is_recorded(app, database):
    task = app.extensions["celery"].tasks["comment.consume_event"]
    message = {"type": "task.deleted", "entity": {"type": "task", "id": 1}}  # no event_id

    result = task.apply(args=[message])

    assert result.failed()
    with database() as session:
        [failed] = session.scalars(select(FailedJob)).all()
        assert failed.task_name == "comment.consume_event" and failed.args == [message]
        assert "InvalidEnvelope" in failed.error
