"""When a schedule runs next: at ``hour``:00 UTC every day, or every week on ``weekday``
(0 = Monday)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta


def next_run(frequency: str, weekday: int | None, hour: int, after: datetime) -> datetime:
    """The first run time strictly after ``after``."""
    after = after.astimezone(UTC)
    candidate = datetime.combine(after.date(), time(hour=hour), tzinfo=UTC)
    if frequency == "weekly" and weekday is not None:
        candidate += timedelta(days=(weekday - candidate.weekday()) % 7)
        step = timedelta(weeks=1)
    else:
        step = timedelta(days=1)
    while candidate <= after:
        candidate += step
    return candidate
