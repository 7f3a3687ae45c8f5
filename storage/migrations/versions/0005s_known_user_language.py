"""known_user.language_code: the Telegram language a user's app last sent, so the messages the bot
sends on its own into their private chat (screen pops, the answer to /iam) are in their language

Revision ID: 0005s
Revises: 0005r
Create Date: 2026-12-05 05:10:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0005s'
down_revision = '0005r'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('known_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language_code', sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('known_user', schema=None) as batch_op:
        batch_op.drop_column('language_code')
