"""Provinces (tenants): a province on conversations, escalations, inbound events, outbox rows, staff users
and parameter values (unique per key, province and date)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 02:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel  # noqa: F401 - autogenerate renders sqlmodel.sql.sqltypes.AutoString
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

AutoString = sqlmodel.sql.sqltypes.AutoString
PARAMETER_COLUMNS = "id, key, label, unit, value, effective_from, legal_basis, verified, source, note"


def _parameter_table(name: str, with_province: bool) -> None:
    columns = [
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', AutoString(length=80), nullable=False),
        sa.Column('label', sa.Text(), nullable=False),
        sa.Column('unit', AutoString(length=20), nullable=False),
        sa.Column('value', AutoString(length=40), nullable=False),
        sa.Column('effective_from', sa.Date(), nullable=False),
        sa.Column('legal_basis', sa.Text(), nullable=False),
        sa.Column('verified', sa.Boolean(), nullable=False),
        sa.Column('source', sa.Text(), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
    ]
    if with_province:
        columns.append(sa.Column('province', AutoString(length=20), nullable=False, server_default=''))
        unique = sa.UniqueConstraint('key', 'province', 'effective_from', name='uq_parameter_value_key_province_from')
    else:
        unique = sa.UniqueConstraint('key', 'effective_from')
    op.create_table(name, *columns, sa.PrimaryKeyConstraint('id'), unique)


def _replace_parameter_table(with_province: bool) -> None:
    """The unique key changes: copy the rows into a new table (the old constraint has no name on
    SQLite, so it cannot be dropped in place on both databases)."""
    _parameter_table('parameter_value_new', with_province)
    where = "" if with_province else " WHERE province = ''"
    op.execute(f"INSERT INTO parameter_value_new ({PARAMETER_COLUMNS}) SELECT {PARAMETER_COLUMNS} "
               f"FROM parameter_value{where}")
    op.drop_index('ix_parameter_value_key', table_name='parameter_value')
    op.drop_table('parameter_value')
    op.rename_table('parameter_value_new', 'parameter_value')
    op.create_index('ix_parameter_value_key', 'parameter_value', ['key'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':  # keep the id sequence counting after the copied rows
        op.execute("SELECT setval(pg_get_serial_sequence('parameter_value', 'id'), "
                   "COALESCE((SELECT MAX(id) FROM parameter_value), 0) + 1, false)")


def upgrade() -> None:
    default = sa.text("'default'")
    with op.batch_alter_table('conversation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('province', AutoString(length=20), nullable=False, server_default=default))
        batch_op.create_index(batch_op.f('ix_conversation_province'), ['province'], unique=False)
    with op.batch_alter_table('escalation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('province', AutoString(length=20), nullable=False, server_default=default))
        batch_op.create_index(batch_op.f('ix_escalation_province'), ['province'], unique=False)
    with op.batch_alter_table('inbound_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('province', AutoString(length=20), nullable=False, server_default=default))
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('province', AutoString(length=20), nullable=False, server_default=default))
    with op.batch_alter_table('staff_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('province', AutoString(length=20), nullable=True))
    _replace_parameter_table(with_province=True)


def downgrade() -> None:
    _replace_parameter_table(with_province=False)  # a province's own values are dropped
    with op.batch_alter_table('staff_user', schema=None) as batch_op:
        batch_op.drop_column('province')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('province')
    with op.batch_alter_table('inbound_event', schema=None) as batch_op:
        batch_op.drop_column('province')
    with op.batch_alter_table('escalation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_escalation_province'))
        batch_op.drop_column('province')
    with op.batch_alter_table('conversation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conversation_province'))
        batch_op.drop_column('province')
