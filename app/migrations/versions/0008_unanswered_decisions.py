"""Unanswered-question groups an admin dismissed, snoozed or handled on the console
(`unanswered_decision`), so the list shows only what is still to do

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 08:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel  # noqa: F401 - the models' column types
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'unanswered_decision',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column('question', sa.Text(), nullable=False),
        sa.Column('keys', sa.JSON(), nullable=False),
        sa.Column('until', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('entry_id', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['actor_id'], ['staff_user.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_unanswered_decision_state', 'unanswered_decision', ['state'])
    op.create_index('ix_unanswered_decision_created_at', 'unanswered_decision', ['created_at'])


def downgrade() -> None:
    op.drop_index('ix_unanswered_decision_created_at', table_name='unanswered_decision')
    op.drop_index('ix_unanswered_decision_state', table_name='unanswered_decision')
    op.drop_table('unanswered_decision')
