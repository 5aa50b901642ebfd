"""caps on reports running at once and on schedules

Each requested report pending or running holds one of the requester's
REPORTS_MAX_ACTIVE_PER_USER slots, each schedule one of the owner's
REPORT_SCHEDULES_MAX_PER_USER (services.common.caps); the rows that count now are
numbered in order.

Revision ID: 02c5a3ff4a80
Revises: ad22b2c44bee
Create Date: 2026-12-02 16:00:00.000000

"""
from services.common.migration_ops import add_cap_slot, drop_cap_slot


# revision identifiers, used by Alembic.
revision = '02c5a3ff4a80'
down_revision = 'ad22b2c44bee'
branch_labels = None
depends_on = None


def upgrade():
    add_cap_slot(
        "reports",
        "requester_id",
        counted="status IN ('pending', 'running') AND schedule_id IS NULL",
    )
    add_cap_slot("report_schedules", "owner_id")


def downgrade():
    drop_cap_slot("report_schedules", "owner_id")
    drop_cap_slot("reports", "requester_id")
