"""The one retry policy (services/common/retry.py): the wait doubles per retry, stays
between half and all of ``base · 2^(n-1)``, and never passes its cap."""

from __future__ import annotations

from services.common.retry import backoff


def test_the_wait_doubles_with_jitter_within_half_of_it():
    for attempt, full in ((1, 10.0), (2, 20.0), (3, 40.0), (4, 80.0)):
        waits = [backoff(attempt, base=10.0, cap=300.0) for _ in range(200)]
        assert all(full / 2 <= wait <= full for wait in waits)
        assert max(waits) - min(waits) > full / 10  # spread out, not one fixed delay


def test_the_wait_never_passes_the_cap():
    waits = [backoff(attempt, base=1.0, cap=600.0) for attempt in range(1, 40)]
    assert max(waits) <= 600.0
    assert backoff(30, base=1.0, cap=600.0) >= 300.0
