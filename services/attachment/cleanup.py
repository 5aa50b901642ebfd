"""Removing the files of a deleted task or project (``task.deleted`` and
``project.deleted`` events, docs/services.md and docs/events.md).

The rows (attachments, their versions and share links, and the blobs no version refers
to any more) go in the consumer's transaction; the files only after it committed, so a
failed transaction never leaves rows whose files are gone."""

from __future__ import annotations

import logging
from typing import Any

from services.attachment.blobs import remove_attachments as remove_matching
from services.attachment.models import Attachment

log = logging.getLogger(__name__)


def remove_attachments(event: dict[str, Any]) -> list[str]:
    """Delete the rows of the files the event's task or project took with it (the caller
    commits); the storage keys of the files no longer referred to, to delete after the
    commit."""
    if event["type"] == "task.deleted":
        condition = Attachment.task_id == event["entity"]["id"]
    elif event["type"] == "project.deleted":
        condition = Attachment.project_id == (event["project_id"] or event["entity"]["id"])
    else:
        return []
    keys = remove_matching(condition)
    log.info("%s %s removes %d stored files", event["type"], event["entity"]["id"], len(keys))
    return keys
