"""ids are never reused: SQLite tables rebuilt with AUTOINCREMENT

SQLite's default gives a new row the highest id + 1, so after the newest row is deleted
the next one takes its id (and whatever other services still keep under it). With
AUTOINCREMENT SQLite remembers the highest id ever given. PostgreSQL's sequences never
go back: nothing to do there.

Revision ID: 649fe63efa94
Revises: 6a04eb9e539b
Create Date: 2026-12-02 15:00:00.000000

"""
from services.common.migration_ops import allow_id_reuse, never_reuse_ids


# revision identifiers, used by Alembic.
revision = '649fe63efa94'
down_revision = '6a04eb9e539b'
branch_labels = None
depends_on = None

TABLES = (
    'users',
    'password_reset_tokens',
    'outbox_events',
    'idempotency_records',
)


def upgrade():
    never_reuse_ids(*TABLES)


def downgrade():
    allow_id_reuse(*TABLES)
