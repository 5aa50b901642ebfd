"""board positions of tasks, task watchers, the worker's processed events and failed jobs

Each task gets ``position``, its place in its board column (its project and status),
unique within the column. Existing tasks are numbered in the order the task list shows
by default (newest first, then by id), 1024 apart, so moves have room between them.
``task_watchers`` holds who follows which task, with the task's project beside it (a
user who leaves a project stops watching its tasks in one statement). The service now
has a worker (commenters and the mentioned watch their tasks), hence the consumers'
``processed_events`` and ``failed_jobs``.

Revision ID: e3b7d9a1c2f4
Revises: d8a4c6e2f1b7
Create Date: 2026-12-03 08:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import services.common.db
from services.common.migration_ops import (
    create_platform_tables,
    drop_platform_tables,
    never_reuse_ids,
)


# revision identifiers, used by Alembic.
revision = 'e3b7d9a1c2f4'
down_revision = 'd8a4c6e2f1b7'
branch_labels = None
depends_on = None


NEVER_REUSE = {'sqlite_autoincrement': True}
GAP = 1024


def upgrade():
    with op.batch_alter_table('tasks', schema=None, table_kwargs=NEVER_REUSE) as batch_op:
        batch_op.add_column(sa.Column('position', sa.BigInteger(), nullable=True))

    # UPDATE ... FROM: PostgreSQL, and SQLite since 3.33.
    op.execute(sa.text(
        "UPDATE tasks SET position = ranked.place * :gap FROM ("
        " SELECT id, ROW_NUMBER() OVER ("
        "  PARTITION BY project_id, status ORDER BY created_at DESC, id ASC) AS place"
        " FROM tasks) AS ranked"
        " WHERE ranked.id = tasks.id"
    ).bindparams(gap=GAP))

    with op.batch_alter_table('tasks', schema=None, table_kwargs=NEVER_REUSE) as batch_op:
        batch_op.alter_column('position', existing_type=sa.BigInteger(), nullable=False)
        batch_op.create_index('ix_tasks_project_id_status_position', ['project_id', 'status', 'position'], unique=True)

    op.create_table('task_watchers',
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('created_at', services.common.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_task_watchers_project_id_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_task_watchers_task_id_tasks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('task_id', 'user_id', name=op.f('pk_task_watchers'))
    )
    with op.batch_alter_table('task_watchers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_task_watchers_project_id'), ['project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_watchers_user_id'), ['user_id'], unique=False)

    create_platform_tables("processed_events", "failed_jobs")
    # SQLite: AUTOINCREMENT, so a failed job's id is never given to another.
    never_reuse_ids("failed_jobs")


def downgrade():
    drop_platform_tables("processed_events", "failed_jobs")
    op.drop_table('task_watchers')
    with op.batch_alter_table('tasks', schema=None, table_kwargs=NEVER_REUSE) as batch_op:
        batch_op.drop_index('ix_tasks_project_id_status_position')
        batch_op.drop_column('position')
