"""Content-addressed blobs: identical bytes are stored once, and a blob goes when no
version refers to it any more.

An upload streams to a new storage key first (its hash is known only at the end). Then,
under a lock on its hash, it either becomes the blob of that hash or, when the blob
exists, refers to it, and the new copy is removed after the commit. Removing versions
takes the same lock for each hash they referred to and deletes the blobs left without a
version; their files go after the commit. The locks are PostgreSQL transaction-level
advisory locks (one per hash, taken in hash order, so two transactions never wait on
each other crosswise), held until the commit: an upload that refers to a blob and a
delete that would remove it never interleave. SQLite runs one writer at a time anyway.

A project's usage is the size of every distinct blob its versions refer to; a change
that adds bytes to a project is checked under a lock on the project, so two uploads
cannot both fit in the room left for one.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, exists, func, select, text

from services.attachment.extensions import db
from services.attachment.models import Attachment, AttachmentVersion, Blob, ShareLink
from services.attachment.storage import StoredFile

# The two-key advisory lock space (classid, objid) for projects; hashes use the one-key
# space, which PostgreSQL keeps apart from it.
PROJECT_LOCK_CLASS = 16


def _postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def lock_hashes(hashes: Iterable[str]) -> None:
    """Hold the locks of ``hashes`` until the transaction ends."""
    if not _postgres():
        return
    for sha256 in sorted(set(hashes)):
        db.session.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": int(sha256[:15], 16)}
        )


def lock_project(project_id: int) -> None:
    """Hold the lock on a project's usage until the transaction ends."""
    if _postgres():
        db.session.execute(
            text("SELECT pg_advisory_xact_lock(:cls, :obj)"),
            {"cls": PROJECT_LOCK_CLASS, "obj": project_id},
        )


def adopt(stored: StoredFile) -> tuple[Blob, bool]:
    """The blob of ``stored``'s bytes, under its hash's lock (held until the commit):
    the existing one (then the caller removes ``stored`` after committing; True) or
    ``stored`` itself, now a blob (False)."""
    lock_hashes([stored.sha256])
    blob = db.session.scalar(select(Blob).where(Blob.sha256 == stored.sha256))
    if blob is not None:
        return blob, True
    blob = Blob(sha256=stored.sha256, storage_key=stored.key, size=stored.size)
    db.session.add(blob)
    db.session.flush()
    return blob, False


def release(hashes: Iterable[str]) -> list[str]:
    """After versions referring to ``hashes`` were deleted (in this transaction): delete
    the blobs no version refers to any more; their storage keys, to remove once the
    transaction committed."""
    hashes = sorted(set(hashes))
    if not hashes:
        return []
    db.session.flush()
    lock_hashes(hashes)
    referenced = exists().where(AttachmentVersion.sha256 == Blob.sha256)
    unreferenced = select(Blob.sha256, Blob.storage_key).where(Blob.sha256.in_(hashes), ~referenced)
    gone = db.session.execute(unreferenced).all()
    if gone:
        db.session.execute(delete(Blob).where(Blob.sha256.in_([row[0] for row in gone])))
    return [row[1] for row in gone]


def remove_attachments(condition) -> list[str]:
    """Delete the attachments matching ``condition``, their versions and share links, and
    the blobs left without a version (the caller commits); the storage keys to remove
    after the commit."""
    ids = select(Attachment.id).where(condition).scalar_subquery()
    hashes = list(
        db.session.scalars(
            select(AttachmentVersion.sha256)
            .where(AttachmentVersion.attachment_id.in_(ids))
            .distinct()
        )
    )
    # Explicitly, not by the foreign keys' cascade: SQLite's foreign_keys pragma is off.
    db.session.execute(delete(ShareLink).where(ShareLink.attachment_id.in_(ids)))
    db.session.execute(delete(AttachmentVersion).where(AttachmentVersion.attachment_id.in_(ids)))
    db.session.execute(delete(Attachment).where(condition))
    return release(hashes)


def project_usage(project_id: int) -> int:
    """Bytes the project's files take: each distinct blob its versions refer to, once."""
    hashes = (
        select(AttachmentVersion.sha256)
        .join(Attachment, Attachment.id == AttachmentVersion.attachment_id)
        .where(Attachment.project_id == project_id)
    )
    total = db.session.scalar(select(func.sum(Blob.size)).where(Blob.sha256.in_(hashes)))
    return int(total or 0)


def project_holds(project_id: int, sha256: str) -> bool:
    """Whether a version in the project already refers to these bytes (they cost nothing)."""
    query = (
        select(AttachmentVersion.id)
        .join(Attachment, Attachment.id == AttachmentVersion.attachment_id)
        .where(Attachment.project_id == project_id, AttachmentVersion.sha256 == sha256)
        .limit(1)
    )
    return db.session.scalar(query) is not None
