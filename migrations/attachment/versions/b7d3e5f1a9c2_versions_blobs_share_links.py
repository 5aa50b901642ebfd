"""versions, content-addressed blobs, share links

Every attachment gets numbered versions (attachment_versions) and its own columns
describe the latest one (attachments.version). The bytes move to blobs keyed by their
SHA-256: one blob per distinct content, so attachments that held identical bytes under
different storage keys now share the first key (the other files are no longer referred
to and the hourly orphan sweep removes them). Each existing attachment becomes its
version 1. attachments.storage_key stays as the latest version's blob key, no longer
unique. Share links keep only the SHA-256 of their token.

Revision ID: b7d3e5f1a9c2
Revises: 94a00922446f
Create Date: 2026-12-03 08:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import services.common.db


# revision identifiers, used by Alembic.
revision = 'b7d3e5f1a9c2'
down_revision = '94a00922446f'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('blobs',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('storage_key', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('created_at', services.common.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_blobs')),
    sa.UniqueConstraint('storage_key', name=op.f('uq_blobs_storage_key'))
    )
    op.create_table('attachment_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attachment_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=127), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('uploaded_by', sa.Integer(), nullable=False),
    sa.Column('restored_from', sa.Integer(), nullable=True),
    sa.Column('created_at', services.common.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['attachment_id'], ['attachments.id'], name=op.f('fk_attachment_versions_attachment_id_attachments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sha256'], ['blobs.sha256'], name=op.f('fk_attachment_versions_sha256_blobs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachment_versions')),
    sa.UniqueConstraint('attachment_id', 'number', name='uq_attachment_versions_number'),
    sqlite_autoincrement=True,
    )
    with op.batch_alter_table('attachment_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachment_versions_sha256'), ['sha256'], unique=False)

    op.create_table('share_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attachment_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=False),
    sa.Column('created_at', services.common.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', services.common.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['attachment_id'], ['attachments.id'], name=op.f('fk_share_links_attachment_id_attachments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_share_links')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_share_links_token_hash')),
    sqlite_autoincrement=True,
    )
    with op.batch_alter_table('share_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_share_links_attachment_id'), ['attachment_id'], unique=False)

    with op.batch_alter_table('attachments', schema=None, table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))
        batch_op.drop_constraint(batch_op.f('uq_attachments_storage_key'), type_='unique')

    # The existing files: one blob per content (the first key of each), each attachment
    # its version 1 pointing at it.
    op.execute(
        "INSERT INTO blobs (sha256, storage_key, size, created_at)"
        " SELECT sha256, MIN(storage_key), MIN(size), MIN(created_at) FROM attachments"
        " GROUP BY sha256"
    )
    op.execute(
        "INSERT INTO attachment_versions (attachment_id, number, filename, content_type,"
        " size, sha256, uploaded_by, created_at)"
        " SELECT id, 1, filename, content_type, size, sha256, uploaded_by, created_at"
        " FROM attachments"
    )
    op.execute(
        "UPDATE attachments SET storage_key ="
        " (SELECT blobs.storage_key FROM blobs WHERE blobs.sha256 = attachments.sha256)"
    )


def downgrade():
    # Back to one row per file: each attachment keeps its latest version (other versions
    # and shared blobs' extra references are forgotten), so storage keys must be unique
    # again: attachments sharing a key keep it only for the oldest; the others lose
    # their rows with the versions (their bytes stay reachable through the oldest).
    op.execute(
        "DELETE FROM attachments WHERE id NOT IN"
        " (SELECT MIN(id) FROM attachments GROUP BY storage_key)"
    )
    with op.batch_alter_table('attachments', schema=None, table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.create_unique_constraint(batch_op.f('uq_attachments_storage_key'), ['storage_key'])
        batch_op.drop_column('version')

    with op.batch_alter_table('share_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_share_links_attachment_id'))

    op.drop_table('share_links')
    with op.batch_alter_table('attachment_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachment_versions_sha256'))

    op.drop_table('attachment_versions')
    op.drop_table('blobs')
