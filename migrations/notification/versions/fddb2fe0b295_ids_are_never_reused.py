"""ids are never reused: SQLite tables rebuilt with AUTOINCREMENT

SQLite's default gives a new row the highest id + 1, so after the newest row is deleted
the next one takes its id (and whatever other services still keep under it). With
AUTOINCREMENT SQLite remembers the highest id ever given. PostgreSQL's sequences never
go back: nothing to do there.

Revision ID: fddb2fe0b295
Revises: 62a0c8596a39
Create Date: 2026-12-02 15:00:00.000000

"""
from services.common.migration_ops import allow_id_reuse, never_reuse_ids


# revision identifiers, used by Alembic.
revision = 'fddb2fe0b295'
down_revision = '62a0c8596a39'
branch_labels = None
depends_on = None

TABLES = (
    'notifications',
    'email_deliveries',
    'notification_templates',
    'notification_preferences',
    'webhooks',
    'webhook_deliveries',
    'idempotency_records',
    'failed_jobs',
)


def upgrade():
    never_reuse_ids(*TABLES)


def downgrade():
    allow_id_reuse(*TABLES)
