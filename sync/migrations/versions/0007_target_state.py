"""bindings keep the mirror's last known state and when it was last read or written

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sync.models

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``bindings.target_state``, ``target_updated_at`` and ``target_synced_at``."""
    with op.batch_alter_table('bindings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('target_state', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('target_updated_at', sync.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('target_synced_at', sync.models.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Drop them."""
    with op.batch_alter_table('bindings', schema=None) as batch_op:
        batch_op.drop_column('target_synced_at')
        batch_op.drop_column('target_updated_at')
        batch_op.drop_column('target_state')
