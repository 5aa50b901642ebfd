"""The migrations build exactly the schema the models describe, and move the files that
exist to version 1 of their attachments over one blob per content."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select, text

from services.attachment import MIGRATIONS, create_app
from services.attachment.config import Config
from services.attachment.extensions import db
from services.attachment.models import Attachment, AttachmentVersion, Blob
from services.common.testing import configure_for_tests

# The head before versions, blobs and share links.
BEFORE_VERSIONS = "94a00922446f"


def test_migrated_database_matches_the_models(app):
    with app.app_context(), db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert differences == []


@pytest.fixture(params=["postgresql", "sqlite"])
def database_url(request, backing, tmp_path) -> str:
    """A new, empty database of either kind (PostgreSQL when the run has one)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'attachment.db'}"
    if not backing.postgres:
        pytest.fail("PostgreSQL is not reachable")
    return backing.database_url("attachment_versions")


def test_existing_files_become_version_1_over_one_blob_per_content(backing, database_url):
    fresh = create_app(configure_for_tests(Config(), database_url, backing.redis_url))
    now = "2026-12-01 10:00:00+00:00"
    with fresh.app_context():
        upgrade(directory=str(MIGRATIONS), revision=BEFORE_VERSIONS)
        db.session.execute(
            text(
                "INSERT INTO attachments (task_id, project_id, filename, content_type, size,"
                " sha256, storage_key, uploaded_by, created_at) VALUES"
                f" (1, 1, 'a.txt', 'text/plain', 5, :same, :key_a, 7, '{now}'),"
                f" (2, 1, 'b.txt', 'text/plain', 5, :same, :key_b, 8, '{now}'),"
                f" (3, 2, 'c.pdf', 'application/pdf', 9, :other, :key_c, 7, '{now}')"
            ),
            {
                "same": "1" * 64,
                "other": "2" * 64,
                "key_a": "a" * 32,
                "key_b": "b" * 32,
                "key_c": "c" * 32,
            },
        )
        db.session.commit()
        upgrade(directory=str(MIGRATIONS))
        blobs = {b.sha256: (b.storage_key, b.size) for b in db.session.scalars(select(Blob))}
        versions = [
            (v.attachment_id, v.number, v.filename, v.sha256, v.uploaded_by)
            for v in db.session.scalars(select(AttachmentVersion).order_by(AttachmentVersion.id))
        ]
        attachments = [
            (a.id, a.version, a.storage_key)
            for a in db.session.scalars(select(Attachment).order_by(Attachment.id))
        ]
        db.session.remove()
        db.engine.dispose()
    # Identical bytes under two keys: one blob, the first key (the other file is an
    # orphan the hourly sweep removes).
    assert blobs == {"1" * 64: ("a" * 32, 5), "2" * 64: ("c" * 32, 9)}
    assert versions == [
        (1, 1, "a.txt", "1" * 64, 7),
        (2, 1, "b.txt", "1" * 64, 8),
        (3, 1, "c.pdf", "2" * 64, 7),
    ]
    assert attachments == [(1, 1, "a" * 32), (2, 1, "a" * 32), (3, 1, "c" * 32)]


def test_the_migration_downgrades_and_upgrades_again(backing, database_url):
    fresh = create_app(configure_for_tests(Config(), database_url, backing.redis_url))
    with fresh.app_context():
        upgrade(directory=str(MIGRATIONS))
        downgrade(directory=str(MIGRATIONS), revision=BEFORE_VERSIONS)
        tables = set(sa_inspect(db.engine).get_table_names())
        upgrade(directory=str(MIGRATIONS))
        with db.engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), db.metadata)
        db.session.remove()
        db.engine.dispose()
    assert not {"blobs", "attachment_versions", "share_links"} & tables
    assert differences == []
