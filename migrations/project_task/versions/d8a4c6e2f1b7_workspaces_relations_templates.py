"""workspaces, their members, project placement and templates, task relations

Workspaces group projects (``projects.workspace_id``, set to NULL when the workspace
goes); ``visibility`` says whether the workspace's members see a project; a project
with ``is_template`` is a template. Existing projects become private non-templates
outside any workspace. ``task_relations`` holds blocks / relates_to / duplicates
between two tasks, indexed from both ends (the cycle check walks from the source, the
blocked rule looks up by the target).

Revision ID: d8a4c6e2f1b7
Revises: fc864a893c6d
Create Date: 2026-12-02 14:30:00.000000

"""
from alembic import op
import sqlalchemy as sa

import services.common.db


# revision identifiers, used by Alembic.
revision = 'd8a4c6e2f1b7'
down_revision = 'fc864a893c6d'
branch_labels = None
depends_on = None


NEVER_REUSE = {'sqlite_autoincrement': True}


def upgrade():
    op.create_table('workspaces',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('created_at', services.common.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', services.common.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_workspaces')),
    sqlite_autoincrement=True,
    )
    with op.batch_alter_table('workspaces', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_workspaces_name'), ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_workspaces_owner_id'), ['owner_id'], unique=False)

    op.create_table('workspace_members',
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('created_at', services.common.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', services.common.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_workspace_members_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('workspace_id', 'user_id', name=op.f('pk_workspace_members'))
    )
    with op.batch_alter_table('workspace_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_workspace_members_user_id'), ['user_id'], unique=False)

    op.create_table('task_relations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('target_id', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', services.common.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('source_id <> target_id', name=op.f('ck_task_relations_not_self')),
    sa.ForeignKeyConstraint(['source_id'], ['tasks.id'], name=op.f('fk_task_relations_source_id_tasks'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['target_id'], ['tasks.id'], name=op.f('fk_task_relations_target_id_tasks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_task_relations')),
    sa.UniqueConstraint('source_id', 'target_id', 'type', name=op.f('uq_task_relations_source_id')),
    sqlite_autoincrement=True,
    )
    with op.batch_alter_table('task_relations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_task_relations_source_id'), ['source_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_relations_target_id'), ['target_id'], unique=False)

    # The server defaults fill the existing rows; the models set the values on insert.
    # A SQLite rebuild of the table keeps AUTOINCREMENT (ids are never reused).
    with op.batch_alter_table('projects', schema=None, table_kwargs=NEVER_REUSE) as batch_op:
        batch_op.add_column(sa.Column('workspace_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('visibility', sa.String(length=16), nullable=False, server_default='private'))
        batch_op.add_column(sa.Column('is_template', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.create_index(batch_op.f('ix_projects_is_template'), ['is_template'], unique=False)
        batch_op.create_index(batch_op.f('ix_projects_workspace_id'), ['workspace_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_projects_workspace_id_workspaces'), 'workspaces', ['workspace_id'], ['id'], ondelete='SET NULL')
    # A SQLite rebuild of the table keeps AUTOINCREMENT (ids are never reused).
    with op.batch_alter_table('projects', schema=None, table_kwargs=NEVER_REUSE) as batch_op:
        batch_op.alter_column('visibility', server_default=None)
        batch_op.alter_column('is_template', server_default=None)


def downgrade():
    # A SQLite rebuild of the table keeps AUTOINCREMENT (ids are never reused).
    with op.batch_alter_table('projects', schema=None, table_kwargs=NEVER_REUSE) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_projects_workspace_id_workspaces'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_projects_workspace_id'))
        batch_op.drop_index(batch_op.f('ix_projects_is_template'))
        batch_op.drop_column('is_template')
        batch_op.drop_column('visibility')
        batch_op.drop_column('workspace_id')

    op.drop_table('task_relations')
    op.drop_table('workspace_members')
    op.drop_table('workspaces')
