"""Celery jobs of the attachment service (queue ``attachment``): removing the files of
deleted tasks and projects (and once more after every cached access answer expired),
and the hourly sweep of stored files no blob refers to."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celery import shared_task

from services.attachment.cleanup import remove_attachments
from services.attachment.orphans import remove_orphan_files
from services.attachment.storage import storage
from services.common.consumers import (
    apply_again,
    apply_once,
    consumer_task,
    parse_envelope,
    sweep_later,
)

SWEEP_TASK = "attachment.sweep_deleted"


def _remove(event: dict[str, Any], apply: Callable[..., Any]) -> Any:
    """``apply`` the removal of the event's rows; then, committed, delete their files."""
    keys: list[str] = []
    result = apply(event, lambda each: keys.extend(remove_attachments(each)))
    for key in keys:
        storage().delete(key)
    return result


@consumer_task("attachment.consume_event")
def consume_event(self, envelope: dict[str, Any]) -> bool:
    """Delete the files and rows of a deleted task or project, once per event_id."""
    event = parse_envelope(envelope)
    applied = _remove(event, apply_once)
    sweep_later(event, SWEEP_TASK)
    return applied


@consumer_task(SWEEP_TASK)
def sweep_deleted(self, envelope: dict[str, Any]) -> None:
    """Delete the files uploaded to a deleted task or project after the consumer ran."""
    _remove(parse_envelope(envelope), apply_again)


@shared_task(name="attachment.sweep_orphan_files")
def sweep_orphan_files() -> int:
    """Delete stored files over an hour old that no blob refers to, and partial
    writes as old (hourly, by beat); how many files went."""
    sweep = remove_orphan_files()
    return sweep.removed + sweep.partials
