"""The delivery rewrite: outbox.in_doubt (a send cut off by a crash), an index on
inbound_event.user_id, and conversation.last_answer_message_id dropped.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.drop_column("last_answer_message_id")
    with op.batch_alter_table("inbound_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inbound_event_user_id"), ["user_id"], unique=False)
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        # existing rows were never cut off by a crash
        batch_op.add_column(sa.Column("in_doubt", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("in_doubt")
    with op.batch_alter_table("inbound_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbound_event_user_id"))
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_answer_message_id", sa.Integer(), nullable=True))
