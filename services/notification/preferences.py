"""Users' notification preferences: per type and channel, defaults filled in."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from services.notification.catalog import DEFAULT_PREFERENCES, LOCKED_PREFERENCES
from services.notification.extensions import db
from services.notification.models import NotificationPreference

Preferences = dict[str, dict[str, bool]]


def defaults() -> Preferences:
    return {kind: dict(channels) for kind, channels in DEFAULT_PREFERENCES.items()}


def preferences_of(user_ids: Iterable[int]) -> dict[int, Preferences]:
    """Effective preferences of several users, in one query."""
    ids = set(user_ids)
    result = {user_id: defaults() for user_id in ids}
    if not ids:
        return result
    rows = db.session.scalars(
        select(NotificationPreference).where(NotificationPreference.user_id.in_(ids))
    )
    for row in rows:
        if row.event_type in DEFAULT_PREFERENCES:
            result[row.user_id][row.event_type] = {"in_app": row.in_app, "email": row.email}
    for prefs in result.values():
        for kind, locked in LOCKED_PREFERENCES.items():
            prefs[kind] = dict(locked)
    return result


def update_preferences(user_id: int, changes: Preferences) -> Preferences:
    """Store the given types' channels (others keep theirs); return the result."""
    current = preferences_of([user_id])[user_id]
    rows = {
        row.event_type: row
        for row in db.session.scalars(
            select(NotificationPreference).where(
                NotificationPreference.user_id == user_id,
                NotificationPreference.event_type.in_(list(changes)),
            )
        )
    }
    for kind, channels in changes.items():
        merged = {**current[kind], **channels}
        row = rows.get(kind)
        if row is None:
            row = NotificationPreference(user_id=user_id, event_type=kind)
            db.session.add(row)
        row.in_app, row.email = merged["in_app"], merged["email"]
        current[kind] = merged
    return current
