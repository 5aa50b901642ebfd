"""Tasks counted by status, and the figures every report derives from such counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from services.common.contracts import CLOSED_STATUSES, TASK_STATUSES


def zeroes(names: tuple[str, ...]) -> dict[str, int]:
    """``{name: 0}`` for every name, so a report lists each one even when none counts."""
    return dict.fromkeys(names, 0)


def completion_rate(by_status: dict[str, int]) -> float:
    """done / (all - cancelled), to four places; 0 when nothing counts."""
    counted = sum(by_status.values()) - by_status.get("cancelled", 0)
    return round(by_status.get("done", 0) / counted, 4) if counted else 0.0


@dataclass
class Tally:
    """Task counts by status (every status listed) and how many of them are overdue."""

    by_status: dict[str, int] = field(default_factory=lambda: zeroes(TASK_STATUSES))
    overdue: int = 0

    def add(self, status: str, count: int, overdue: int = 0) -> None:
        self.by_status[status] = self.by_status.get(status, 0) + count
        self.overdue += overdue

    @property
    def total(self) -> int:
        return sum(self.by_status.values())

    @property
    def open(self) -> int:
        return self.total - sum(self.by_status.get(status, 0) for status in CLOSED_STATUSES)

    @property
    def done(self) -> int:
        return self.by_status.get("done", 0)

    @property
    def completion_rate(self) -> float:
        return completion_rate(self.by_status)

    def counts(self) -> dict[str, Any]:
        """``{total, open, done, overdue, by_status}``."""
        return {
            "total": self.total,
            "open": self.open,
            "done": self.done,
            "overdue": self.overdue,
            "by_status": self.by_status,
        }

    def figures(self, due_this_week: int) -> dict[str, Any]:
        """The task figures of a dashboard or the system overview."""
        return {
            "total": self.total,
            "open": self.open,
            "overdue": self.overdue,
            "due_this_week": due_this_week,
            "completion_rate": self.completion_rate,
            "by_status": self.by_status,
        }
