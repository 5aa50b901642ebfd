"""The ``changes`` of an update event: ``{field: [old, new]}`` for every field whose JSON
representation differs (so dates and times are already ISO strings)."""

from __future__ import annotations

from typing import Any

UNTRACKED = ("updated_at",)


def changes_between(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """Fields that differ between two dumps of the same resource, as ``[old, new]``."""
    return {
        field: [before.get(field), value]
        for field, value in after.items()
        if field not in UNTRACKED and before.get(field) != value
    }
