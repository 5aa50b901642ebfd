"""seed the template of the e-mail that warns of a personal access token about to expire

Revision ID: 7c1d2e3f4a5b
Revises: c41d7e0a9f3b
Create Date: 2026-12-02 15:10:00.000000

"""
from alembic import op
import sqlalchemy as sa

import services.common.db
from services.common.migration_ops import seed_rows, unseed_rows


# revision identifiers, used by Alembic.
revision = '7c1d2e3f4a5b'
down_revision = 'c41d7e0a9f3b'
branch_labels = None
depends_on = None

# The default template of token.expiring, as of this revision.
TEMPLATE = {
    "name": 'token.expiring',
    "subject": 'Your access token {{ token.name }} expires soon',
    "body": 'Your personal access token "{{ token.name }}" ({{ token.prefix }}...) expires on {{ token.expires_at }}. Scripts that use it stop working then.\n\nIf you still need it, make a new token (POST {{ app_url }}/api/users/me/tokens), put it where this one is used, and revoke this one.\n',
    "channel": 'email',
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
