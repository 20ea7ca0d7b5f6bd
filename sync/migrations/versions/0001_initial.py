"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sync.models

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the five tables of the state store."""
    op.create_table('attention',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('route', sa.String(length=120), nullable=True),
    sa.Column('store', sa.String(length=120), nullable=True),
    sa.Column('order_id', sa.String(length=120), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=True),
    sa.Column('payload', sa.Text(), nullable=True),
    sa.Column('replay', sa.JSON(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('occurrences', sa.Integer(), nullable=False),
    sa.Column('created_at', sync.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sync.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sync.models.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('attention', schema=None) as batch_op:
        batch_op.create_index('ix_attention_open', ['status', 'kind'], unique=False)

    op.create_table('bindings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('route', sa.String(length=120), nullable=False),
    sa.Column('source_store', sa.String(length=120), nullable=False),
    sa.Column('source_id', sa.String(length=120), nullable=False),
    sa.Column('source_number', sa.String(length=120), nullable=True),
    sa.Column('target_store', sa.String(length=120), nullable=False),
    sa.Column('target_id', sa.String(length=120), nullable=True),
    sa.Column('target_number', sa.String(length=120), nullable=True),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('reference', sa.String(length=300), nullable=False),
    sa.Column('progress', sa.JSON(), nullable=True),
    sa.Column('shipments', sa.JSON(), nullable=True),
    sa.Column('source_seen_hash', sa.String(length=64), nullable=True),
    sa.Column('target_seen_hash', sa.String(length=64), nullable=True),
    sa.Column('source_updated_at', sync.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('pending_since', sync.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('created_at', sync.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sync.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('route', 'source_store', 'source_id', name='uq_binding_source')
    )
    with op.batch_alter_table('bindings', schema=None) as batch_op:
        batch_op.create_index('ix_binding_target', ['target_store', 'target_id'], unique=False)

    op.create_table('cursors',
    sa.Column('store', sa.String(length=120), nullable=False),
    sa.Column('state', sa.JSON(), nullable=True),
    sa.Column('last_poll_at', sync.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('updated_at', sync.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('store')
    )
    op.create_table('inbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store', sa.String(length=120), nullable=False),
    sa.Column('event_key', sa.String(length=200), nullable=False),
    sa.Column('topic', sa.String(length=120), nullable=False),
    sa.Column('order_id', sa.String(length=120), nullable=True),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('received_at', sync.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('processed_at', sync.models.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('store', 'event_key', name='uq_inbox_event')
    )
    op.create_table('operations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('route', sa.String(length=120), nullable=False),
    sa.Column('source_store', sa.String(length=120), nullable=False),
    sa.Column('source_id', sa.String(length=120), nullable=False),
    sa.Column('operation', sa.String(length=40), nullable=False),
    sa.Column('desired', sa.JSON(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('created_at', sync.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sync.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('idempotency_key')
    )
    with op.batch_alter_table('operations', schema=None) as batch_op:
        batch_op.create_index('ix_operation_order', ['route', 'source_store', 'source_id'], unique=False)



def downgrade() -> None:
    """Drop them."""
    with op.batch_alter_table('operations', schema=None) as batch_op:
        batch_op.drop_index('ix_operation_order')

    op.drop_table('operations')
    op.drop_table('inbox')
    op.drop_table('cursors')
    with op.batch_alter_table('bindings', schema=None) as batch_op:
        batch_op.drop_index('ix_binding_target')

    op.drop_table('bindings')
    with op.batch_alter_table('attention', schema=None) as batch_op:
        batch_op.drop_index('ix_attention_open')

    op.drop_table('attention')
