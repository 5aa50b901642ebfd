"""Backup and restore of the platform's data, for the image's ``backup`` and ``restore``
roles (scripts/docker-entrypoint): every service's database in pg_dump's custom format
and each file tree (uploads, reports) as a tar archive, one directory per backup:

  BACKUP_DIR/20261202T133000Z/
      manifest.json        what the backup holds, with each file's size and sha256
      user.dump            pg_dump -Fc of the user service's database (one per service)
      ...
      uploads.tar.gz       ATTACHMENT_STORAGE_DIR
      reports.tar.gz       REPORT_STORAGE_DIR

A backup is written as ``<name>.partial`` and renamed once complete, so an interrupted
one is never restored. A restore checks every checksum before it changes anything, then
replaces each database (``pg_restore --clean``, one transaction per database) and the
contents of each file tree.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit, urlunsplit

MANIFEST = "manifest.json"
PARTIAL = ".partial"


class BackupError(Exception):
    """A backup or restore that cannot go on (the message says why)."""


def libpq_target(url: str) -> tuple[str, dict[str, str]]:
    """A database URL as pg_dump takes it: the URI without its password, and the
    password in ``PGPASSWORD`` (never on a command line other processes can read)."""
    parts = urlsplit(url.replace("+psycopg2", "", 1))
    env = {**os.environ}
    if parts.password is not None:
        env["PGPASSWORD"] = unquote(parts.password)
        host = parts.netloc.rsplit("@", 1)[1]
        parts = parts._replace(netloc=f"{parts.username}@{host}")
    return urlunsplit(parts), env


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _run(command: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BackupError(f"{command[0]} failed: {result.stderr.strip()[-2000:]}")


def take_backup(
    databases: dict[str, str], trees: dict[str, Path], root: Path, *, log=print
) -> Path:
    """Dump every database in ``databases`` (service -> URL) and archive every tree in
    ``trees`` (name -> directory) into a new directory under ``root``; return it."""
    name = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    final = root / name
    if final.exists():
        raise BackupError(f"{final} exists already")
    work = root / (name + PARTIAL)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    manifest: dict = {"name": name, "created_at": datetime.now(UTC).isoformat()}
    manifest["databases"] = {}
    for service, url in databases.items():
        target, env = libpq_target(url)
        path = work / f"{service}.dump"
        _run(["pg_dump", "--format=custom", f"--file={path}", f"--dbname={target}"], env)
        manifest["databases"][service] = _entry(path)
        log(f"backup: {service} database, {path.stat().st_size} bytes")
    manifest["files"] = {}
    for tree, directory in trees.items():
        path = work / f"{tree}.tar.gz"
        with tarfile.open(path, "w:gz") as archive:
            archive.add(directory, arcname=".")
        manifest["files"][tree] = _entry(path)
        log(f"backup: {tree} ({directory}), {path.stat().st_size} bytes")
    (work / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    work.rename(final)
    return final


def _entry(path: Path) -> dict:
    return {"file": path.name, "bytes": path.stat().st_size, "sha256": sha256(path)}


def backups(root: Path) -> list[Path]:
    """The complete backups under ``root``, oldest first."""
    if not root.is_dir():
        return []
    return sorted(
        p
        for p in root.iterdir()
        if p.is_dir() and not p.name.endswith(PARTIAL) and (p / MANIFEST).is_file()
    )


def find_backup(root: Path, name: str | None) -> Path:
    """The backup called ``name`` under ``root``, or the newest when no name is given."""
    complete = backups(root)
    if name:
        chosen = root / name
        if chosen not in complete:
            raise BackupError(f"no complete backup {name!r} in {root}")
        return chosen
    if not complete:
        raise BackupError(f"no backup in {root}")
    return complete[-1]


def _verified_manifest(backup: Path) -> dict:
    manifest = json.loads((backup / MANIFEST).read_text())
    entries = [*manifest["databases"].values(), *manifest["files"].values()]
    for entry in entries:
        path = backup / entry["file"]
        if not path.is_file() or sha256(path) != entry["sha256"]:
            raise BackupError(f"{path} is missing or damaged (sha256 mismatch)")
    return manifest


def _safe_members(archive: tarfile.TarFile) -> list[tarfile.TarInfo]:
    """Only plain files and directories, all inside the target: never a link, a device
    or a path that climbs out."""
    members = []
    for member in archive.getmembers():
        path = PurePosixPath(member.name)
        if path.is_absolute() or ".." in path.parts or not (member.isfile() or member.isdir()):
            raise BackupError(f"refusing archive member {member.name!r}")
        members.append(member)
    return members


def _replace_tree(archive_path: Path, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for child in directory.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
    with tarfile.open(archive_path, "r:gz") as archive:
        members = _safe_members(archive)
        if hasattr(tarfile, "data_filter"):
            archive.extractall(directory, members=members, filter="data")
        else:  # Python without tar filters (checked by _safe_members instead)
            archive.extractall(directory, members=members)


def restore_backup(
    databases: dict[str, str],
    trees: dict[str, Path],
    root: Path,
    name: str | None = None,
    *,
    log=print,
) -> Path:
    """Replace every database and file tree with the backup ``name`` (default: newest)."""
    backup = find_backup(root, name)
    manifest = _verified_manifest(backup)
    missing = sorted(set(manifest["databases"]) - set(databases))
    if missing:
        raise BackupError(f"no database URL for {', '.join(missing)}")
    for service, entry in manifest["databases"].items():
        target, env = libpq_target(databases[service])
        command = ["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges"]
        command += ["--single-transaction", "--exit-on-error", f"--dbname={target}"]
        _run([*command, str(backup / entry["file"])], env)
        log(f"restore: {service} database from {backup.name}")
    for tree, entry in manifest["files"].items():
        if tree not in trees:
            log(f"restore: {tree} skipped (no directory configured for it)")
            continue
        _replace_tree(backup / entry["file"], trees[tree])
        log(f"restore: {tree} into {trees[tree]}")
    return backup
