"""Small, size-limited filesystems for tests of a full disk: a tmpfs mounted over a
directory a service writes to (as a volume is in production), filled up to a few
kilobytes, and unmounted afterwards (what was in the directory shows again)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

FILLER = "filler"


@contextmanager
def small_volume(path: Path, size_kib: int) -> Iterator[Path]:
    """A tmpfs of ``size_kib`` KiB mounted on ``path`` until the block ends. Mounting
    needs root (CI and the dev machine have it); elsewhere the test is skipped."""
    if os.geteuid() != 0:
        pytest.skip("mounting a size-limited filesystem needs root")
    path.mkdir(parents=True, exist_ok=True)
    mount = ["mount", "-t", "tmpfs", "-o", f"size={size_kib}k,mode=0755", "tmpfs", str(path)]
    mounted = subprocess.run(mount, capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "--lazy", str(path)], check=True)


def free_bytes(path: Path) -> int:
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize


def fill(path: Path, leave_bytes: int = 0) -> Path:
    """Fill the filesystem holding ``path`` with one file, leaving ``leave_bytes`` free
    (rounded down to whole blocks); return the file, whose removal makes the room again."""
    filler = path / FILLER
    with filler.open("wb") as out:
        out.write(b"\0" * max(0, free_bytes(path) - leave_bytes))
    return filler


def files_in(path: Path) -> list[Path]:
    """Every file under ``path`` (partial ones included), the filler left out."""
    return sorted(p for p in path.rglob("*") if p.is_file() and p.name != FILLER)
