"""Removing the files of a deleted task or project (``task.deleted`` and
``project.deleted`` events, SPEC §5 and §6).

The rows go in the consumer's transaction; the files only after it committed, so a
failed transaction never leaves rows whose files are gone."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import delete, select

from services.attachment.extensions import db
from services.attachment.models import Attachment

log = logging.getLogger(__name__)


def remove_attachments(event: dict[str, Any]) -> list[str]:
    """Delete the rows of the files the event's task or project took with it (the caller
    commits); the storage keys of their files, to delete after the commit."""
    if event["type"] == "task.deleted":
        condition = Attachment.task_id == event["entity"]["id"]
    elif event["type"] == "project.deleted":
        condition = Attachment.project_id == (event["project_id"] or event["entity"]["id"])
    else:
        return []
    keys = list(db.session.scalars(select(Attachment.storage_key).where(condition)))
    db.session.execute(delete(Attachment).where(condition))
    log.info("%s %s removes %d files", event["type"], event["entity"]["id"], len(keys))
    return keys
