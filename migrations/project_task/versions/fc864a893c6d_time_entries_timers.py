"""time tracking: time entries, timers, time locks, tasks.spent_minutes

Time entries (1 to 1,440 minutes of one user on one task and day), the running timer of
each user (one: user_id is unique), one lock row per user who logs time (the 24-hour
rule is checked under it), and each task's spent_minutes, the sum of its entries kept in
the same transaction (0 for the tasks that exist: they have no entries yet). The old
hand-typed actual_hours stays as it is.

Revision ID: fc864a893c6d
Revises: 9182c317281e
Create Date: 2026-12-02 14:23:20.485149

"""
from alembic import op
import sqlalchemy as sa

import services.common.db


# revision identifiers, used by Alembic.
revision = 'fc864a893c6d'
down_revision = '9182c317281e'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('time_locks',
    sa.Column('user_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('locked_at', services.common.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_time_locks'))
    )
    op.create_table('time_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('spent_on', sa.Date(), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('billable', sa.Boolean(), nullable=False),
    sa.Column('created_at', services.common.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', services.common.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('minutes > 0 AND minutes <= 1440', name=op.f('ck_time_entries_minutes_within_a_day')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_time_entries_project_id_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_time_entries_task_id_tasks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_time_entries')),
    sqlite_autoincrement=True,
    )
    with op.batch_alter_table('time_entries', schema=None) as batch_op:
        batch_op.create_index('ix_time_entries_created_at', ['created_at'], unique=False)
        batch_op.create_index('ix_time_entries_project_id_spent_on', ['project_id', 'spent_on'], unique=False)
        batch_op.create_index('ix_time_entries_task_id_spent_on', ['task_id', 'spent_on'], unique=False)
        batch_op.create_index('ix_time_entries_user_id_spent_on', ['user_id', 'spent_on'], unique=False)

    op.create_table('timers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('spent_on', sa.Date(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('billable', sa.Boolean(), nullable=False),
    sa.Column('started_at', services.common.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_timers_project_id_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_timers_task_id_tasks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_timers')),
    sa.UniqueConstraint('user_id', name=op.f('uq_timers_user_id')),
    sqlite_autoincrement=True,
    )
    with op.batch_alter_table('timers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_timers_project_id'), ['project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_timers_task_id'), ['task_id'], unique=False)

    with op.batch_alter_table('tasks', schema=None, table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.add_column(sa.Column('spent_minutes', sa.Integer(), server_default='0', nullable=False))



def downgrade():
    with op.batch_alter_table('tasks', schema=None, table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.drop_column('spent_minutes')

    with op.batch_alter_table('timers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_timers_task_id'))
        batch_op.drop_index(batch_op.f('ix_timers_project_id'))

    op.drop_table('timers')
    with op.batch_alter_table('time_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_time_entries_user_id_spent_on')
        batch_op.drop_index('ix_time_entries_task_id_spent_on')
        batch_op.drop_index('ix_time_entries_project_id_spent_on')
        batch_op.drop_index('ix_time_entries_created_at')

    op.drop_table('time_entries')
    op.drop_table('time_locks')
