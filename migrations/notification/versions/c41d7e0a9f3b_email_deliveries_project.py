"""e-mail deliveries know their project

An e-mail about a project is checked against the project's members again right before
it is sent (services.notification.audience), so it keeps the project's id.

Revision ID: c41d7e0a9f3b
Revises: b12c2f1c3ff9
Create Date: 2026-12-02 17:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c41d7e0a9f3b'
down_revision = 'b12c2f1c3ff9'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('email_deliveries', sa.Column('project_id', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('email_deliveries') as batch_op:
        batch_op.drop_column('project_id')
