"""Suggestions under an escalation: `conversation.last_choices_suggested`, set when the choices offered last were
entries suggested while the citizen waits for staff (a pick of one is answered, but the conversation does not go on
in their topic as after a clarifying question)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 23:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('conversation') as batch:
        batch.add_column(sa.Column('last_choices_suggested', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('conversation') as batch:
        batch.drop_column('last_choices_suggested')
