"""End-to-end tests drive the whole built platform as real processes behind real nginx;
their fixtures (``platform``, ``api``, ``admin``, ``smtp``, ``webhook_receiver``) live
in ``tests/support/fixtures.py``, shared with the resilience suite."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)
