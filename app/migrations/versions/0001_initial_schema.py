"""Initial schema: the tables as `SQLModel.metadata.create_all` made them before migrations.

The tables are spelled out here (not imported from app.models), so this revision stays what it
is when the models change; `app.migrate` also compares a database made by the old `create_all`
against `schema()` to adopt it.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def schema() -> sa.MetaData:
    meta = sa.MetaData()
    sa.Table(
        'channel_token', meta,
        sa.Column('channel', sa.String(length=20), nullable=False),
        sa.Column('access_token', sa.Text(), nullable=False),
        sa.Column('refresh_token', sa.Text(), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('refreshes', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('channel')
    )
    sa.Table(
        'conversation', meta,
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(length=20), nullable=False),
        sa.Column('external_id', sa.String(length=120), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_inbound_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_entry_id', sa.String(length=80), nullable=True),
        sa.Column('last_text', sa.Text(), nullable=True),
        sa.Column('last_choices', sa.JSON(), nullable=True),
        sa.Column('last_answer_message_id', sa.Integer(), nullable=True),
        sa.Column('bot_paused_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_platform_message_id', sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('channel', 'external_id')
    )
    sa.Index('ix_conversation_channel', meta.tables['conversation'].c.channel)
    sa.Table(
        'inbound_event', meta,
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(length=20), nullable=False),
        sa.Column('dedupe_key', sa.String(length=250), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('user_id', sa.String(length=120), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('payload', sa.Text(), nullable=True),
        sa.Column('platform_message_id', sa.String(length=200), nullable=True),
        sa.Column('staff_id', sa.String(length=120), nullable=True),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('error', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('channel', 'dedupe_key')
    )
    sa.Index('ix_inbound_event_platform_message_id', meta.tables['inbound_event'].c.platform_message_id)
    sa.Index('ix_inbound_event_status', meta.tables['inbound_event'].c.status)
    sa.Table(
        'knowledge_document', meta,
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('content', sa.JSON(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('name')
    )
    sa.Table(
        'knowledge_entry', meta,
        sa.Column('id', sa.String(length=80), nullable=False),
        sa.Column('topic', sa.String(length=80), nullable=False),
        sa.Column('title', sa.String(length=300), nullable=False),
        sa.Column('content', sa.JSON(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id')
    )
    sa.Index('ix_knowledge_entry_topic', meta.tables['knowledge_entry'].c.topic)
    sa.Table(
        'parameter_value', meta,
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=80), nullable=False),
        sa.Column('label', sa.Text(), nullable=False),
        sa.Column('unit', sa.String(length=20), nullable=False),
        sa.Column('value', sa.String(length=40), nullable=False),
        sa.Column('effective_from', sa.Date(), nullable=False),
        sa.Column('legal_basis', sa.Text(), nullable=False),
        sa.Column('verified', sa.Boolean(), nullable=False),
        sa.Column('source', sa.Text(), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('key', 'effective_from')
    )
    sa.Index('ix_parameter_value_key', meta.tables['parameter_value'].c.key)
    sa.Table(
        'message', meta,
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('conversation_id', sa.Integer(), nullable=False),
        sa.Column('direction', sa.String(length=3), nullable=False),
        sa.Column('author', sa.String(length=10), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('outcome', sa.String(length=12), nullable=True),
        sa.Column('entry_id', sa.String(length=80), nullable=True),
        sa.Column('score', sa.Float(), nullable=True),
        sa.Column('candidates', sa.JSON(), nullable=True),
        sa.Column('scores', sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversation.id']),
        sa.PrimaryKeyConstraint('id')
    )
    sa.Index('ix_message_conversation_id', meta.tables['message'].c.conversation_id)
    sa.Index('ix_message_created_at', meta.tables['message'].c.created_at)
    sa.Index('ix_message_entry_id', meta.tables['message'].c.entry_id)
    sa.Index('ix_message_outcome', meta.tables['message'].c.outcome)
    sa.Table(
        'escalation', meta,
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('conversation_id', sa.Integer(), nullable=False),
        sa.Column('message_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=12), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('reason', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversation.id']),
        sa.ForeignKeyConstraint(['message_id'], ['message.id']),
        sa.PrimaryKeyConstraint('id')
    )
    sa.Index('ix_escalation_conversation_id', meta.tables['escalation'].c.conversation_id)
    sa.Index('ix_escalation_created_at', meta.tables['escalation'].c.created_at)
    sa.Index('ix_escalation_status', meta.tables['escalation'].c.status)
    sa.Table(
        'feedback', meta,
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('conversation_id', sa.Integer(), nullable=False),
        sa.Column('message_id', sa.Integer(), nullable=True),
        sa.Column('entry_id', sa.String(length=80), nullable=True),
        sa.Column('helpful', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversation.id']),
        sa.ForeignKeyConstraint(['message_id'], ['message.id']),
        sa.PrimaryKeyConstraint('id')
    )
    sa.Index('ix_feedback_conversation_id', meta.tables['feedback'].c.conversation_id)
    sa.Index('ix_feedback_entry_id', meta.tables['feedback'].c.entry_id)
    sa.Table(
        'outbox', meta,
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('conversation_id', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(length=20), nullable=False),
        sa.Column('recipient', sa.String(length=120), nullable=False),
        sa.Column('author', sa.String(length=10), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('tag', sa.String(length=30), nullable=True),
        sa.Column('paid', sa.Boolean(), nullable=False),
        sa.Column('reply_to', sa.String(length=200), nullable=True),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=False),
        sa.Column('error_code', sa.String(length=40), nullable=True),
        sa.Column('platform_message_id', sa.String(length=200), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('echoed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('escalation_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversation.id']),
        sa.ForeignKeyConstraint(['escalation_id'], ['escalation.id']),
        sa.PrimaryKeyConstraint('id')
    )
    sa.Index('ix_outbox_conversation_id', meta.tables['outbox'].c.conversation_id)
    sa.Index('ix_outbox_next_attempt_at', meta.tables['outbox'].c.next_attempt_at)
    sa.Index('ix_outbox_platform_message_id', meta.tables['outbox'].c.platform_message_id)
    sa.Index('ix_outbox_status', meta.tables['outbox'].c.status)
    return meta


def upgrade() -> None:
    schema().create_all(op.get_bind())


def downgrade() -> None:
    schema().drop_all(op.get_bind())
