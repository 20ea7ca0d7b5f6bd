"""reference index: our references found on each target store's orders

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sync.models

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``target_references`` and ``reference_index_state``."""
    op.create_table('target_references',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('target_store', sa.String(length=120), nullable=False),
    sa.Column('reference', sa.String(length=300), nullable=False),
    sa.Column('target_id', sa.String(length=120), nullable=False),
    sa.Column('target_number', sa.String(length=120), nullable=True),
    sa.Column('seen_at', sync.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('target_store', 'reference', name='uq_target_reference')
    )
    op.create_table('reference_index_state',
    sa.Column('target_store', sa.String(length=120), nullable=False),
    sa.Column('cursor', sa.JSON(), nullable=True),
    sa.Column('refreshed_at', sync.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('orders', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('target_store')
    )


def downgrade() -> None:
    """Drop the reference index tables."""
    op.drop_table('reference_index_state')
    op.drop_table('target_references')
