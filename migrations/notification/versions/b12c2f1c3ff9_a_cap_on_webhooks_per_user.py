"""a cap on webhooks per user

Each webhook holds one of its owner's WEBHOOKS_MAX_PER_USER slots
(services.common.caps); the webhooks there are now are numbered in order.

Revision ID: b12c2f1c3ff9
Revises: fddb2fe0b295
Create Date: 2026-12-02 16:00:00.000000

"""
from services.common.migration_ops import add_cap_slot, drop_cap_slot


# revision identifiers, used by Alembic.
revision = 'b12c2f1c3ff9'
down_revision = 'fddb2fe0b295'
branch_labels = None
depends_on = None


def upgrade():
    add_cap_slot("webhooks", "owner_id")


def downgrade():
    drop_cap_slot("webhooks", "owner_id")
