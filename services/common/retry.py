"""The platform's one retry policy: exponential backoff with jitter, for every job that
is tried again (event consumers, e-mails, webhook deliveries, reports, periodic jobs).

Retry number ``n`` (1, 2, ...) waits ``base · 2^(n-1)`` seconds, at most ``cap``, of
which a random part up to half is taken off: jobs that failed together (a receiver or
a service down) come back spread out, yet never sooner than half the delay. Each job
keeps its own limits (base, cap, how many tries) as parameters.

Jobs that retry whatever a set of errors raises are declared with
:func:`retried_task`; jobs that decide themselves when to give up (counting attempts
in their own rows) raise ``self.retry(countdown=backoff(...))``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from functools import wraps
from typing import Any

from celery import shared_task
from celery.exceptions import Ignore, Reject, Retry

DEFAULT_CAP = 600.0


def backoff(attempt: int, *, base: float = 1.0, cap: float = DEFAULT_CAP) -> float:
    """Seconds to wait before retry number ``attempt`` (1, 2, ...)."""
    delay = min(cap, base * 2 ** max(0, attempt - 1))
    return delay / 2 + random.uniform(0, delay / 2)


def retried_task(
    name: str,
    *,
    retry_for: tuple[type[BaseException], ...],
    max_retries: int,
    dont_retry_for: tuple[type[BaseException], ...] = (),
    base: float = 1.0,
    cap: float = DEFAULT_CAP,
) -> Callable[[Callable[..., Any]], Any]:
    """``@retried_task("<service>.<job>", retry_for=(...), max_retries=n)``: a bound Celery
    task retried with :func:`backoff` when it raises one of ``retry_for`` (but none of
    ``dont_retry_for``), at most ``max_retries`` times; then it fails (and is recorded,
    see :mod:`services.common.celery_app`)."""

    def decorator(job: Callable[..., Any]) -> Any:
        @wraps(job)
        def run(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return job(self, *args, **kwargs)
            except (Ignore, Reject, Retry):
                raise
            except dont_retry_for:
                raise
            except retry_for as exc:
                countdown = backoff(self.request.retries + 1, base=base, cap=cap)
                raise self.retry(exc=exc, countdown=countdown) from exc

        return shared_task(name=name, bind=True, max_retries=max_retries)(run)

    return decorator
