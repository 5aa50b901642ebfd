"""Domain events in, notifications, e-mails and webhook deliveries out.

``notification.consume_event`` receives the event types the notification service
``consumes`` (``services.common.registry``) in the envelope of docs/events.md:
``{event_id, type, occurred_at, actor: {id, username}, project_id, entity: {type, id},
data, changes: {field: [old, new]}, request_id}``. The data each type must carry — the
contract producers are held to — and who is told:

``task.assigned``
    ``data.task``: ``{id, title, project_id, status, assignee_id, reporter_id, due_date}``;
    ``changes.assignee_id``: ``[old, new]``. → the new assignee and the task's watchers.
``task.status_changed``
    ``data.task`` as above; ``changes.status``: ``[old, new]``. → the task's watchers.
``comment.created``
    ``data.comment``: ``{id, task_id, author_id, content}``; ``data.task``: ``{id, title,
    assignee_id, reporter_id}``; optionally ``data.mentioned_user_ids``, and for a reply
    ``data.thread``: ``{parent_id, participant_ids}``. → the task's watchers, except
    users it mentions (they get ``comment.mentioned``) and, for a reply, the thread's
    participants (they get ``comment.replied``).
``comment.replied``
    as ``comment.created`` of a reply. → the thread's participants (the top-level
    comment's author and earlier repliers), except users it mentions.
``comment.mentioned``
    ``data.comment`` and ``data.task`` as above; ``data.mentioned_user_ids``: ``[int]``.
    → the mentioned users.
``comment.reaction_added`` / ``comment.reaction_removed``
    ``data.comment``, ``data.task``, ``data.reaction``. → nobody in-app: webhooks only.
``task.relation_added`` / ``task.relation_removed``
    ``data.relation``, ``data.task``, ``data.related_task``. → nobody in-app: webhooks
    only.
``task.moved``
    ``data.task``, ``data.from`` and ``data.to``: ``{status, position}``. → nobody
    in-app (a change of column is also ``task.status_changed``): webhooks only.
``task.watched`` / ``task.unwatched``
    ``data.task``, ``data.user_id``. → nobody in-app: webhooks only.

A task's watchers are those project-task lists (``GET /internal/tasks/{id}/watchers``:
the reporter, the assignee, commenters, the mentioned and whoever chose to watch, less
anyone who can no longer see the project), via :func:`~services.notification.audience.
task_watchers`. This function is the one place that decides who is told.
``report.completed`` / ``report.failed``
    ``data.requester_id``: int; ``data.report``: ``{id, type, format, error}``.
    → the requester.
``user.password_reset_requested``
    ``data.email``, ``data.reset_token``, ``data.expires_in`` (seconds); ``entity``:
    ``{type: "user", id}``. → one e-mail to ``data.email``: never an in-app
    notification, never a webhook, never logged; the stored e-mail body is wiped once
    the e-mail is settled.
``user.email_changed``
    ``data.old_email``, ``data.new_email``; ``entity``: ``{type: "user", id}``. → one
    e-mail to the old address, showing the new one masked: never an in-app
    notification, never a webhook, and no preference or template channel turns it off.

Nobody is told about their own action (``actor.id``), except the account's security
e-mails (reset, e-mail change), which are the owner's by nature. For task events the task's fields may also sit directly in
``data`` (a tolerance, not the contract). Every type but ``user.*`` also goes to the
webhooks entitled to it (see :mod:`services.notification.webhooks.fanout`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import marshmallow as ma

from services.common import consumers
from services.common.events import public_envelope
from services.notification.audience import task_watchers
from services.notification.catalog import EMAIL_CHANGED, PASSWORD_RESET
from services.notification.delivery import Notice, notify, queue_email
from services.notification.webhooks.fanout import fan_out


class EnvelopeSchema(consumers.EnvelopeSchema):
    """The whole envelope, its routing fields checked: the rest is read tolerantly here
    and handed on to webhooks as it came (in this order, then anything else), less the
    audit-only fields (the caller's ip and user agent), which this service never keeps."""

    class Meta:
        unknown = ma.INCLUDE

    @ma.pre_load
    def _without_audit_fields(self, data: Any, **kwargs: Any) -> Any:
        return public_envelope(data) if isinstance(data, dict) else data

    occurred_at = ma.fields.Raw(allow_none=True)
    actor = ma.fields.Raw(allow_none=True)
    data = ma.fields.Raw(allow_none=True)
    changes = ma.fields.Raw(allow_none=True)
    request_id = ma.fields.Raw(allow_none=True)


@dataclass
class Outcome:
    """Rows an event produced, to hand to the worker once they are committed."""

    emails: list[int] = field(default_factory=list)
    webhooks: list[int] = field(default_factory=list)


def _task_of(data: dict[str, Any]) -> dict[str, Any]:
    task = data.get("task")
    if isinstance(task, dict):
        return task
    return data if "title" in data else {}


def _ids(values: Any) -> list[int]:
    return [v for v in values if isinstance(v, int)] if isinstance(values, list) else []


def _new_value(changes: dict[str, Any], name: str, fallback: Any) -> Any:
    pair = changes.get(name)
    return pair[1] if isinstance(pair, list) and len(pair) == 2 else fallback


def notices_for(envelope: dict[str, Any]) -> list[Notice]:
    """Who hears about an event, and what they are shown."""
    kind = envelope["type"]
    data = envelope.get("data") or {}
    changes = envelope.get("changes") or {}
    actor = envelope.get("actor") or None
    task = _task_of(data)
    comment = data.get("comment") if isinstance(data.get("comment"), dict) else {}
    report = data.get("report") if isinstance(data.get("report"), dict) else {}
    mentioned = _ids(data.get("mentioned_user_ids"))
    thread = data.get("thread") if isinstance(data.get("thread"), dict) else {}
    # One notice per person per comment: a mention beats a reply, a reply beats "a
    # comment on your task".
    participants = [u for u in _ids(thread.get("participant_ids")) if u not in mentioned]
    if kind == "task.assigned":
        # The new assignee watches the task from this change on; the list may be older.
        assignee = _new_value(changes, "assignee_id", task.get("assignee_id"))
        recipients = [assignee, *sorted(task_watchers(task.get("id")))]
    elif kind == "task.status_changed":
        recipients = sorted(task_watchers(task.get("id")))
    elif kind == "comment.created":
        watchers = task_watchers(task.get("id") or comment.get("task_id"))
        recipients = [
            user_id
            for user_id in sorted(watchers)
            if user_id not in mentioned and user_id not in participants
        ]
    elif kind == "comment.replied":
        recipients = participants
    elif kind == "comment.mentioned":
        recipients = mentioned
    elif kind in ("report.completed", "report.failed"):
        recipients = [data.get("requester_id")]
    else:
        return []
    references = {
        "project_id": envelope.get("project_id") or task.get("project_id"),
        "entity": envelope.get("entity"),
        "task_id": task.get("id"),
        "comment_id": comment.get("id"),
        "report_id": report.get("id"),
    }
    context = {
        "actor": actor,
        "task": task,
        "comment": comment,
        "report": report,
        "changes": changes,
    }
    return [
        Notice(
            kind=kind,
            event_id=envelope["event_id"],
            recipients=recipients,
            context=context,
            data={key: value for key, value in references.items() if value is not None},
            actor_id=actor.get("id") if isinstance(actor, dict) else None,
        )
    ]


def mask_email(address: str) -> str:
    """``alice@example.com`` → ``a****@e******.com``: enough for its owner to recognise."""
    local, _, domain = address.rpartition("@")
    name, dot, tld = domain.rpartition(".")
    if not name:
        name, dot, tld = tld, "", ""

    def starred(part: str) -> str:
        return part[:1] + "*" * max(len(part) - 1, 2)

    return f"{starred(local)}@{starred(name)}{dot}{tld}"


def _readable_time(stamp: Any) -> str:
    try:
        return datetime.fromisoformat(stamp).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    except (TypeError, ValueError):
        return ""


def _tell_old_address(envelope: dict[str, Any]) -> list[int]:
    data = envelope.get("data") or {}
    old, new = data.get("old_email"), data.get("new_email")
    if not (isinstance(old, str) and isinstance(new, str) and old and new):
        return []
    entity = envelope.get("entity") or {}
    context = {
        "actor": envelope.get("actor"),
        "new_email_masked": mask_email(new),
        "occurred_at": _readable_time(envelope.get("occurred_at")),
    }
    return queue_email(old, EMAIL_CHANGED, context, envelope["event_id"], user_id=entity.get("id"))


def handle_event(envelope: dict[str, Any], outcome: Outcome) -> None:
    """Add everything an event produces to the session (the caller commits)."""
    if envelope["type"] == EMAIL_CHANGED:
        outcome.emails += _tell_old_address(envelope)
        return
    if envelope["type"] == PASSWORD_RESET:
        data = envelope.get("data") or {}
        entity = envelope.get("entity") or {}
        if data.get("email") and data.get("reset_token"):
            outcome.emails += queue_email(
                data["email"],
                PASSWORD_RESET,
                {"reset_token": data["reset_token"], "expires_in": data.get("expires_in")},
                envelope["event_id"],
                user_id=entity.get("id"),
                redact_body=True,
            )
        return
    outcome.emails += notify(notices_for(envelope)).emails
    outcome.webhooks += fan_out(envelope)
