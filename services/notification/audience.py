"""Who may hear about a project: the one rule every channel applies when it delivers.

Nobody is told about a project they can no longer see. News about a project goes to a
user only while they are a member of it or a global admin, and every channel asks
:func:`may_hear` at the moment it delivers, not only when the event came in:

- in-app: when the notification is created (one made before a removal stays readable);
- e-mail: when it is queued, and again right before it is handed to SMTP, so one queued
  before a removal and sent after it is withheld;
- webhooks: when the event is fanned out, and again right before each delivery (its
  first attempt or a retry) is POSTed.

A later channel calls :func:`may_hear` the same way. Who is told about a task at all
is its watchers (:func:`task_watchers`, asked of project-task in one call per task and
cached as long), chosen in :func:`services.notification.consumer.notices_for`. A project's members are asked of
project-task in one call per project (``GET /internal/projects/{id}/members``) and kept
``MEMBERSHIP_CACHE_SECONDS`` (5 s by default) in this process: a removal is in force on
every channel within that time. Global admins who are no members are known from their
role at the user service (cached as long). When either service cannot answer, the
caller's job retries (:class:`~services.common.errors.ServiceUnavailable`): nothing is
sent on a guess.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from flask import Flask, current_app

from services.common.cache import MISSING, ExpiringCache
from services.common.contracts import MemberListSchema, WatcherListSchema
from services.common.http import call_service
from services.notification import directory
from services.notification.directory import Contact

CACHE_SIZE = 10_000

_members_schema = MemberListSchema()
_watchers_schema = WatcherListSchema()


def task_watchers(task_id: int | None) -> frozenset[int]:
    """Ids of the users watching a task who can still see its project (none when the
    task is gone), asked of project-task and cached for ``MEMBERSHIP_CACHE_SECONDS``."""
    if not isinstance(task_id, int):
        return frozenset()
    cache: ExpiringCache = current_app.extensions["project_members"]
    watchers = cache.get(("watchers", task_id))
    if watchers is MISSING:
        answer = call_service(
            "project-task",
            f"/internal/tasks/{task_id}/watchers",
            _watchers_schema,
            missing_ok=True,
        )
        watchers = frozenset(item["user_id"] for item in answer["items"]) if answer else frozenset()
        cache.set(("watchers", task_id), watchers)
    return watchers


def project_members(project_id: int) -> frozenset[int]:
    """Ids of the project's members now (none when the project is gone), cached for
    ``MEMBERSHIP_CACHE_SECONDS``."""
    cache: ExpiringCache = current_app.extensions["project_members"]
    members = cache.get(project_id)
    if members is MISSING:
        answer = call_service(
            "project-task",
            f"/internal/projects/{project_id}/members",
            _members_schema,
            missing_ok=True,
        )
        members = frozenset(item["user_id"] for item in answer["items"]) if answer else frozenset()
        cache.set(project_id, members)
    return members


def may_hear(
    project_id: int | None,
    user_ids: Iterable[int],
    known: Mapping[int, Contact] | None = None,
) -> set[int]:
    """Those of ``user_ids`` who may hear about ``project_id`` now: its members and the
    active global admins (all of them when the news concerns no project). ``known``
    holds contact details the caller already has; otherwise the user service is asked
    about the non-members (one call)."""
    wanted = set(user_ids)
    if project_id is None or not wanted:
        return wanted
    members = wanted & project_members(project_id)
    others = wanted - members
    if not others:
        return members
    return members | _global_admins(others, known)


def _global_admins(user_ids: set[int], known: Mapping[int, Contact] | None) -> set[int]:
    """Those of ``user_ids`` who are active global admins: from ``known``, else from the
    user service (one call for those not cached in the last ``MEMBERSHIP_CACHE_SECONDS``)."""
    if known is not None:
        return {user_id for user_id in user_ids if _is_admin(known.get(user_id))}
    cache: ExpiringCache = current_app.extensions["project_members"]
    answers = {user_id: cache.get(("admin", user_id)) for user_id in user_ids}
    unknown = [user_id for user_id, answer in answers.items() if answer is MISSING]
    if unknown:
        people = directory.contacts(unknown)
        for user_id in unknown:
            answers[user_id] = _is_admin(people.get(user_id))
            cache.set(("admin", user_id), answers[user_id])
    return {user_id for user_id, admin in answers.items() if admin}


def _is_admin(person: Contact | None) -> bool:
    return person is not None and person.is_active and person.role == "admin"


def init_app(app: Flask) -> None:
    """Install this process's cache of project members (and of who is a global admin)."""
    app.extensions["project_members"] = ExpiringCache(
        CACHE_SIZE, app.config["MEMBERSHIP_CACHE_SECONDS"]
    )
