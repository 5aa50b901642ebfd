"""The shared vocabularies agree with the documentation clients read."""

from __future__ import annotations

import re

from scripts.stack import REPO
from services.common.contracts import EVENT_TYPES


def test_event_types_are_the_ones_docs_events_lists():
    text = (REPO / "docs" / "events.md").read_text()
    table = text.split("## Event types and who consumes them", 1)[1].split("\n## ", 1)[0]
    documented = {
        kind
        for row in table.splitlines()
        if row.startswith("| `")
        for kind in re.findall(r"`([a-z_]+\.[a-z_]+)`", row.split("|")[1])
    }
    assert documented == set(EVENT_TYPES)
    assert len(EVENT_TYPES) == len(set(EVENT_TYPES))
