"""Removing stored files that no blob refers to: left by a worker that died
between deleting rows and their files, by an upload whose process died after storing
its file and before committing its row, or (a partial file) while writing it. Files
younger than an hour are never touched, so an upload still in progress keeps its file."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from itertools import islice

from sqlalchemy import select

from services.attachment.extensions import db
from services.attachment.models import Blob
from services.attachment.storage import storage
from services.common.db import utcnow

log = logging.getLogger(__name__)

MIN_AGE = timedelta(hours=1)
BATCH_SIZE = 500


@dataclass(frozen=True)
class OrphanSweep:
    checked: int
    removed: int
    partials: int


def _batches(keys: Iterable[str], size: int) -> Iterator[list[str]]:
    iterator = iter(keys)
    while batch := list(islice(iterator, size)):
        yield batch


def remove_orphan_files() -> OrphanSweep:
    """Delete the stored files over ``MIN_AGE`` old without a blob row, checking
    ``BATCH_SIZE`` keys per query."""
    cutoff = utcnow() - MIN_AGE
    checked = removed = 0
    for batch in _batches(storage().keys(cutoff), BATCH_SIZE):
        referenced = set(
            db.session.scalars(select(Blob.storage_key).where(Blob.storage_key.in_(batch)))
        )
        # Ends the read: no transaction stays open while files are deleted.
        db.session.commit()
        orphans = [key for key in batch if key not in referenced]
        for key in orphans:
            storage().delete(key)
        checked += len(batch)
        removed += len(orphans)
        log.debug("orphan files: %d removed of a batch of %d", len(orphans), len(batch))
    partials = storage().remove_partials(cutoff)
    log.info(
        "orphan files: %d removed of %d and %d partial writes, older than %s",
        removed,
        checked,
        partials,
        cutoff.isoformat(),
    )
    return OrphanSweep(checked, removed, partials)
