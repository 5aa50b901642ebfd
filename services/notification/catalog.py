"""What the service can notify about: the notification types, their default templates,
the preference defaults, and the sample context templates are checked against.

A notification type is at once the name of the template that renders it and the key of
the user's preferences for it. Templates are Jinja2 (sandboxed, plain text) with these
variables, any of which may be missing for a given type:

- ``recipient``: ``{id, username, full_name}``; ``actor``: ``{id, username}`` (or none)
- ``task``: ``{id, title, project_id, status, assignee_id, reporter_id, due_date}``
- ``comment``: ``{id, task_id, author_id, content}``; ``changes``: ``{field: [old, new]}``
- ``report``: ``{id, type, format, error}``; ``webhook``: ``{id, url, failure_count}``
- ``reset_token``, ``expires_in`` (seconds), ``hours``, ``message``, ``app_url``
- ``new_email_masked`` (the new address with most of it starred), ``occurred_at``
- ``token``: ``{id, name, prefix, expires_at}`` (a personal access token about to expire)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

CHANNELS = ("email", "in_app", "both")

PASSWORD_RESET = "user.password_reset_requested"
EMAIL_CHANGED = "user.email_changed"
TOKEN_EXPIRING = "token.expiring"
COMMENT_REPLIED = "comment.replied"


@dataclass(frozen=True)
class DefaultTemplate:
    name: str
    subject: str
    body: str
    channel: str = "both"


DEFAULT_TEMPLATES: dict[str, DefaultTemplate] = {
    t.name: t
    for t in (
        DefaultTemplate(
            "task.assigned",
            "You were assigned: {{ task.title }}",
            "{{ actor.username if actor else 'Someone' }} assigned you the task "
            '"{{ task.title }}".\n\n{{ app_url }}/tasks/{{ task.id }}\n',
        ),
        DefaultTemplate(
            "task.status_changed",
            "{{ task.title }} is now {{ changes.status[1] if changes.status else task.status }}",
            "{{ actor.username if actor else 'Someone' }} moved \"{{ task.title }}\" "
            "{% if changes.status %}from {{ changes.status[0] }} to {{ changes.status[1] }}"
            "{% else %}to {{ task.status }}{% endif %}.\n\n{{ app_url }}/tasks/{{ task.id }}\n",
        ),
        DefaultTemplate(
            "task.due_soon",
            "Due soon: {{ task.title }}",
            'The task "{{ task.title }}" assigned to you is due {{ task.due_date }} '
            "(within {{ hours }} hours).\n\n{{ app_url }}/tasks/{{ task.id }}\n",
        ),
        DefaultTemplate(
            "comment.created",
            "New comment on {{ task.title }}",
            '{{ actor.username if actor else "Someone" }} commented on "{{ task.title }}":\n\n'
            "{{ comment.content }}\n\n{{ app_url }}/tasks/{{ task.id }}\n",
        ),
        DefaultTemplate(
            "comment.mentioned",
            "{{ actor.username if actor else 'Someone' }} mentioned you on {{ task.title }}",
            '{{ actor.username if actor else "Someone" }} mentioned you in a comment on '
            '"{{ task.title }}":\n\n{{ comment.content }}\n\n{{ app_url }}/tasks/{{ task.id }}\n',
        ),
        DefaultTemplate(
            COMMENT_REPLIED,
            "{{ actor.username if actor else 'Someone' }} replied on {{ task.title }}",
            '{{ actor.username if actor else "Someone" }} replied in a discussion you are in '
            'on "{{ task.title }}":\n\n{{ comment.content }}\n\n{{ app_url }}/tasks/{{ task.id }}\n',
        ),
        DefaultTemplate(
            "report.completed",
            "Your report is ready",
            "Your {{ report.type }} report ({{ report.format }}) is ready.\n\n"
            "{{ app_url }}/reports/{{ report.id }}\n",
        ),
        DefaultTemplate(
            "report.failed",
            "Your report failed",
            "Your {{ report.type }} report could not be produced"
            "{% if report.error %}: {{ report.error }}{% endif %}.\n",
        ),
        DefaultTemplate(
            "webhook.disabled",
            "Webhook disabled: {{ webhook.url }}",
            "Your webhook {{ webhook.url }} was disabled after {{ webhook.failure_count }} "
            "failed deliveries in a row. Fix the receiver, then enable it again.\n",
        ),
        DefaultTemplate(
            "announcement",
            "{{ message }}",
            "{{ message }}\n",
        ),
        DefaultTemplate(
            PASSWORD_RESET,
            "Reset your password",
            "Someone asked to reset the password of your account. If it was you, use this "
            "one-time token within {{ (expires_in // 60) if expires_in else 60 }} minutes:\n\n"
            "{{ reset_token }}\n\n"
            "If it was not you, ignore this e-mail.\n",
            channel="email",
        ),
        DefaultTemplate(
            EMAIL_CHANGED,
            "The e-mail address of your account was changed",
            "The e-mail address of your account{% if actor %} {{ actor.username }}{% endif %} "
            "was changed from this address to {{ new_email_masked }} on {{ occurred_at }}.\n\n"
            "If it was you, there is nothing to do.\n\n"
            "If it was not you, someone who knows your password has taken over the account, "
            "and password resets now go to the new address. Sign in and change your password "
            "at once if you still can, and tell your administrator, who can deactivate the "
            "account.\n",
            channel="email",
        ),
        DefaultTemplate(
            TOKEN_EXPIRING,
            "Your access token {{ token.name }} expires soon",
            'Your personal access token "{{ token.name }}" ({{ token.prefix }}...) expires on '
            "{{ token.expires_at }}. Scripts that use it stop working then.\n\n"
            "If you still need it, make a new token (POST {{ app_url }}/api/users/me/tokens), "
            "put it where this one is used, and revoke this one.\n",
            channel="email",
        ),
    )
}

NOTIFICATION_TYPES = tuple(DEFAULT_TEMPLATES)

# Per type and channel: on unless the user turns it off. The account's security e-mails
# (a reset token, an e-mail change told to the old address) cannot be.
DEFAULT_PREFERENCES: dict[str, dict[str, bool]] = {
    name: {"in_app": template.channel != "email", "email": True}
    for name, template in DEFAULT_TEMPLATES.items()
}
LOCKED_PREFERENCES: dict[str, dict[str, bool]] = {
    kind: {"in_app": False, "email": True} for kind in (PASSWORD_RESET, EMAIL_CHANGED)
}

SAMPLE_CONTEXT: dict[str, Any] = {
    "recipient": {"id": 2, "username": "ada", "full_name": "Ada Lovelace"},
    "actor": {"id": 1, "username": "grace"},
    "task": {
        "id": 7,
        "title": "Write the report",
        "project_id": 3,
        "status": "in_progress",
        "assignee_id": 2,
        "reporter_id": 1,
        "due_date": "2030-01-31",
    },
    "comment": {"id": 11, "task_id": 7, "author_id": 1, "content": "Looks good, @ada."},
    "changes": {"status": ["todo", "in_progress"], "assignee_id": [None, 2]},
    "report": {"id": 5, "type": "project_summary", "format": "pdf", "error": None},
    "webhook": {"id": 9, "url": "https://example.com/hooks", "failure_count": 5},
    "token": {
        "id": 4,
        "name": "backup script",
        "prefix": "tp_Ab12Cd34",
        "expires_at": "2030-01-31 12:00 UTC",
    },
    "reset_token": "sample-token",
    "new_email_masked": "a***@e******.com",
    "occurred_at": "2030-01-31 12:00 UTC",
    "expires_in": 3600,
    "hours": 24,
    "message": "Maintenance tonight at 22:00 UTC.",
    "app_url": "http://localhost:8080",
}
