"""Outbox rows name the staff message they carry: `outbox.message_id`, so the console shows each staff
message's delivery state (queued, sending, sent, failed and why) and can send a failed one again

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 06:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox') as batch:
        batch.add_column(sa.Column('message_id', sa.Integer(), nullable=True))
        batch.create_index('ix_outbox_message_id', ['message_id'])
        batch.create_foreign_key('fk_outbox_message_id_message', 'message', ['message_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('outbox') as batch:
        batch.drop_constraint('fk_outbox_message_id_message', type_='foreignkey')
        batch.drop_index('ix_outbox_message_id')
        batch.drop_column('message_id')
