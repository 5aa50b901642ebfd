"""task list indexes: (project_id, status) and (project_id, created_at)

A project's task list filters by status and sorts newest first by default; these make
its count an index-only scan and its default page an index scan (scripts/bench, P4).

Revision ID: b3c1f0d2e4a5
Revises: aa7e26e0aef3
Create Date: 2026-11-21 20:55:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b3c1f0d2e4a5'
down_revision = 'aa7e26e0aef3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.create_index('ix_tasks_project_id_status', ['project_id', 'status'], unique=False)
        batch_op.create_index(
            'ix_tasks_project_id_created_at', ['project_id', 'created_at'], unique=False
        )


def downgrade():
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_tasks_project_id_created_at')
        batch_op.drop_index('ix_tasks_project_id_status')
