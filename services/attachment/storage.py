"""Where uploaded files live, behind a small interface so a shared volume or an object
store can replace the local directory later.

Files are stored under opaque keys (a random UUID, never the client's name), written to
a ``.part`` file first and renamed when complete, and hashed while they are written.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Protocol

from flask import Flask, current_app

from services.common.errors import StorageFull, is_disk_full

CHUNK_BYTES = 1024 * 1024
_KEY = re.compile(r"^[0-9a-f]{32}$")


class UploadTooLarge(Exception):
    """The stream went past the size limit; nothing was kept."""


@dataclass(frozen=True)
class StoredFile:
    key: str
    size: int
    sha256: str


class Storage(Protocol):
    def save(self, stream: BinaryIO, max_bytes: int) -> StoredFile:
        """Store the stream under a new key, hashing it; raise :class:`UploadTooLarge`
        when it holds more than ``max_bytes``, ``StorageFull`` when the volume is full
        (keeping nothing either way)."""

    def open(self, key: str) -> BinaryIO:
        """The stored file for reading; ``FileNotFoundError`` when it is gone."""

    def delete(self, key: str) -> None:
        """Remove the stored file; a file already gone is no error."""

    def keys(self, written_before: datetime) -> Iterator[str]:
        """The keys of the complete files last written before ``written_before``."""

    def remove_partials(self, written_before: datetime) -> int:
        """Delete unfinished writes (a process died mid-upload) last touched before
        ``written_before``; how many."""


class LocalStorage:
    """Files in a local directory (``<root>/<key[:2]>/<key>``)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if not _KEY.match(key):
            raise ValueError(f"not a storage key: {key!r}")
        return self.root / key[:2] / key

    def save(self, stream: BinaryIO, max_bytes: int) -> StoredFile:
        key = uuid.uuid4().hex
        path = self._path(key)
        partial = path.with_suffix(".part")
        digest = hashlib.sha256()
        size = 0
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with partial.open("xb") as out:
                while chunk := stream.read(CHUNK_BYTES):
                    size += len(chunk)
                    if size > max_bytes:
                        raise UploadTooLarge(f"more than {max_bytes} bytes")
                    digest.update(chunk)
                    out.write(chunk)
            os.replace(partial, path)
        except BaseException as exc:
            partial.unlink(missing_ok=True)
            if is_disk_full(exc):
                raise StorageFull("No room is left to store the file; try again later.") from exc
            raise
        return StoredFile(key, size, digest.hexdigest())

    def open(self, key: str) -> BinaryIO:
        return self._path(key).open("rb")

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def keys(self, written_before: datetime) -> Iterator[str]:
        for entry in self._files(written_before):
            if _KEY.match(entry.name):
                yield entry.name

    def remove_partials(self, written_before: datetime) -> int:
        removed = 0
        for entry in self._files(written_before):
            name, dot, suffix = entry.name.partition(".")
            if _KEY.match(name) and dot and suffix == "part":
                Path(entry.path).unlink(missing_ok=True)
                removed += 1
        return removed

    def _files(self, written_before: datetime) -> Iterator[os.DirEntry]:
        """The files in the key folders last written before ``written_before``."""
        limit = written_before.timestamp()
        for folder in self.root.iterdir():
            if not folder.is_dir():
                continue
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.name[:2] != folder.name:
                        continue
                    try:
                        if entry.is_file() and entry.stat().st_mtime < limit:
                            yield entry
                    except FileNotFoundError:
                        continue


def storage() -> Storage:
    """This app's storage."""
    return current_app.extensions["attachment_storage"]


def init_app(app: Flask) -> None:
    """Store files in ``ATTACHMENT_STORAGE_DIR``."""
    root = Path(app.config["ATTACHMENT_STORAGE_DIR"])
    root.mkdir(parents=True, exist_ok=True)
    app.extensions["attachment_storage"] = LocalStorage(root)
