"""bound_chat.language: the language a chat's messages are written in (en, zh; NULL: English, or
in a private chat the user's own Telegram language)

Revision ID: 0005r
Revises: 0005q
Create Date: 2026-12-05 04:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0005r'
down_revision = '0005q'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('bound_chat', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('bound_chat', schema=None) as batch_op:
        batch_op.drop_column('language')
