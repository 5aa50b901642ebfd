"""Where report files live, behind a small interface (``save``, ``path``, ``delete``).

:class:`LocalStorage` keeps them under ``REPORT_STORAGE_DIR`` (a volume in production)
with opaque names; a file is written beside its final name and renamed into place, so
a half-written file is never served (and one cut short by a full volume is removed).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Protocol

from flask import Flask, current_app

from services.common.errors import StorageFull, is_disk_full


class ReportStorage(Protocol):
    def save(self, report_id: int, extension: str, content: bytes) -> tuple[str, int]:
        """Store ``content``; return its key and size. ``StorageFull`` when the volume
        is full (nothing is kept)."""

    def path(self, key: str) -> Path:
        """A local path the file can be streamed from."""

    def delete(self, key: str) -> None:
        """Remove the file (no error when it is already gone)."""


class LocalStorage:
    """Report files in one directory on local disk."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def save(self, report_id: int, extension: str, content: bytes) -> tuple[str, int]:
        key = f"{report_id}-{uuid.uuid4().hex}.{extension}"
        partial = self.directory / f".{key}.part"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            partial.write_bytes(content)
            os.replace(partial, self.directory / key)
        except BaseException as exc:
            partial.unlink(missing_ok=True)
            if is_disk_full(exc):
                raise StorageFull(
                    "No room is left to store the report; request it again later."
                ) from exc
            raise
        return key, len(content)

    def path(self, key: str) -> Path:
        # Keys are made here, but never let one point outside the directory.
        return self.directory / Path(key).name

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)


def report_storage() -> ReportStorage:
    """This app's report storage."""
    return current_app.extensions["report_storage"]


def init_app(app: Flask) -> None:
    app.extensions["report_storage"] = LocalStorage(app.config["REPORT_STORAGE_DIR"])
