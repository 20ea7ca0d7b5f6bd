"""due work: orders that must be reconciled, recorded before the poll cursor advances

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sync.models

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the ``due_work`` table."""
    op.create_table('due_work',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('route', sa.String(length=120), nullable=False),
    sa.Column('store', sa.String(length=120), nullable=False),
    sa.Column('order_id', sa.String(length=120), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.String(length=40), nullable=False),
    sa.Column('lane', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('armed_at', sync.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('next_at', sync.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('published_at', sync.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('done_at', sync.models.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('route', 'store', 'order_id', name='uq_due_work_order')
    )
    with op.batch_alter_table('due_work', schema=None) as batch_op:
        batch_op.create_index('ix_due_work_next', ['status', 'next_at'], unique=False)


def downgrade() -> None:
    """Drop it."""
    with op.batch_alter_table('due_work', schema=None) as batch_op:
        batch_op.drop_index('ix_due_work_next')
    op.drop_table('due_work')
