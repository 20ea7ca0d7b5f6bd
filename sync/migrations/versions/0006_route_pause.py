"""route pause switch, deferred work of paused routes, attention notes

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sync.models

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``route_pauses``, ``deferred_work`` and ``attention.note`` (why an item was dismissed)."""
    op.create_table('route_pauses',
    sa.Column('route', sa.String(length=120), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('paused_at', sync.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('route')
    )
    op.create_table('deferred_work',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('route', sa.String(length=120), nullable=False),
    sa.Column('store', sa.String(length=120), nullable=False),
    sa.Column('order_id', sa.String(length=120), nullable=False),
    sa.Column('deferred_at', sync.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('route', 'store', 'order_id', name='uq_deferred_work')
    )
    with op.batch_alter_table('attention', schema=None) as batch_op:
        batch_op.add_column(sa.Column('note', sa.Text(), nullable=True))


def downgrade() -> None:
    """Drop them."""
    with op.batch_alter_table('attention', schema=None) as batch_op:
        batch_op.drop_column('note')
    op.drop_table('deferred_work')
    op.drop_table('route_pauses')
