"""Test conversations: `conversation.is_test`, set for the command line's and the API's conversations
(`bhxh-bot ask`, /api/v1/ask), which have nobody to reply to and stay out of the inbox and the statistics

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 05:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
# written in parallel with 0005 (model state): whichever lands second points at the other
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('conversation') as batch:
        batch.add_column(sa.Column('is_test', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute("UPDATE conversation SET is_test = TRUE WHERE channel IN ('cli', 'api')")


def downgrade() -> None:
    with op.batch_alter_table('conversation') as batch:
        batch.drop_column('is_test')
