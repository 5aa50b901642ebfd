"""threads and reactions: parent_id, reply_count and deleted on comments; comment_reactions

Revision ID: 3e7b9a1c5d20
Revises: c8ed462c14f9
Create Date: 2026-12-03 08:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import services.common.db


# revision identifiers, used by Alembic.
revision = '3e7b9a1c5d20'
down_revision = 'c8ed462c14f9'
branch_labels = None
depends_on = None

# A SQLite rebuild of the table keeps AUTOINCREMENT (ids are never reused).
NEVER_REUSE = {"sqlite_autoincrement": True}


def upgrade():
    # The server defaults fill the existing rows; the models set the values on insert.
    with op.batch_alter_table('comments', schema=None, table_kwargs=NEVER_REUSE) as batch_op:
        batch_op.add_column(sa.Column('parent_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('reply_count', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('deleted', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.create_index('ix_comments_parent_id_created_at', ['parent_id', 'created_at', 'id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_comments_parent_id_comments'), 'comments', ['parent_id'], ['id'], ondelete='CASCADE')
    with op.batch_alter_table('comments', schema=None, table_kwargs=NEVER_REUSE) as batch_op:
        batch_op.alter_column('reply_count', server_default=None)
        batch_op.alter_column('deleted', server_default=None)

    op.create_table('comment_reactions',
    sa.Column('comment_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=16), nullable=False),
    sa.Column('created_at', services.common.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['comment_id'], ['comments.id'], name=op.f('fk_comment_reactions_comment_id_comments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('comment_id', 'user_id', 'name', name=op.f('pk_comment_reactions'))
    )


def downgrade():
    op.drop_table('comment_reactions')
    with op.batch_alter_table('comments', schema=None, table_kwargs=NEVER_REUSE) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_comments_parent_id_comments'), type_='foreignkey')
        batch_op.drop_index('ix_comments_parent_id_created_at')
        batch_op.drop_column('deleted')
        batch_op.drop_column('reply_count')
        batch_op.drop_column('parent_id')
