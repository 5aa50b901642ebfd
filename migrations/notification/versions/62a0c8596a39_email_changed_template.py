"""seed the template of the e-mail that tells the old address of an e-mail change

Revision ID: 62a0c8596a39
Revises: b90cf087c7f7
Create Date: 2026-12-02 14:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import services.common.db
from services.common.migration_ops import seed_rows, unseed_rows


# revision identifiers, used by Alembic.
revision = '62a0c8596a39'
down_revision = 'b90cf087c7f7'
branch_labels = None
depends_on = None

# The default template of user.email_changed, as of this revision.
TEMPLATE = {
    "name": 'user.email_changed',
    "subject": 'The e-mail address of your account was changed',
    "body": 'The e-mail address of your account{% if actor %} {{ actor.username }}{% endif %} was changed from this address to {{ new_email_masked }} on {{ occurred_at }}.\n\nIf it was you, there is nothing to do.\n\nIf it was not you, someone who knows your password has taken over the account, and password resets now go to the new address. Sign in and change your password at once if you still can, and tell your administrator, who can deactivate the account.\n',
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
