"""seed the template of the notice that someone replied in a comment thread

Revision ID: 5a8c3e1f9b72
Revises: 7c1d2e3f4a5b
Create Date: 2026-12-03 08:10:00.000000

"""
from alembic import op
import sqlalchemy as sa

import services.common.db
from services.common.migration_ops import seed_rows, unseed_rows


# revision identifiers, used by Alembic.
revision = '5a8c3e1f9b72'
down_revision = '7c1d2e3f4a5b'
branch_labels = None
depends_on = None

# The default template of comment.replied, as of this revision.
TEMPLATE = {
    "name": 'comment.replied',
    "subject": "{{ actor.username if actor else 'Someone' }} replied on {{ task.title }}",
    "body": '{{ actor.username if actor else "Someone" }} replied in a discussion you are in on "{{ task.title }}":\n\n{{ comment.content }}\n\n{{ app_url }}/tasks/{{ task.id }}\n',
    "channel": 'both',
}

templates = sa.table(
    'notification_templates',
    sa.column('name', sa.String),
    sa.column('subject', sa.String),
    sa.column('body', sa.Text),
    sa.column('channel', sa.String),
    sa.column('created_at', services.common.db.UTCDateTime(timezone=True)),
    sa.column('updated_at', services.common.db.UTCDateTime(timezone=True)),
)


def upgrade():
    # An admin may have made a template of this name already: keep theirs.
    seed_rows(templates, "name", [TEMPLATE])


def downgrade():
    unseed_rows(templates, "name", [TEMPLATE])
