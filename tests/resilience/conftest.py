"""The resilience suite (R1-R7, docs/testing.md): real processes killed, stopped and restarted
under the platform, the API fuzzed against its own documents, and the authorization
matrix. Every test here is marked ``resilience``; the platform and client fixtures come
from ``tests/support/fixtures.py``, shared with the e2e suite.

Tests that stop a shared process (the platform's Redis, a service, a worker) start it
again in a ``finally`` block, so a failure never leaves the platform broken for the next.
"""

from __future__ import annotations

import os

import pytest


def scale(name: str, default: int) -> int:
    """A test's size, overridable from the environment (``RESILIENCE_<NAME>``) to run it
    at full scale; CI runs the defaults."""
    return int(os.environ.get(f"RESILIENCE_{name.upper()}", default))


def pytest_collection_modifyitems(items):
    for item in items:
        if "/resilience/" in str(item.fspath):
            item.add_marker(pytest.mark.resilience)
