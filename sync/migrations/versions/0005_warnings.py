"""order warnings: mapping warnings kept with their binding and operation

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sync.models

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the ``warnings`` table."""
    op.create_table(
        "warnings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("binding_id", sa.Integer(), nullable=True),
        sa.Column("route", sa.String(length=120), nullable=False),
        sa.Column("store", sa.String(length=120), nullable=False),
        sa.Column("order_id", sa.String(length=120), nullable=False),
        sa.Column("operation", sa.String(length=40), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        sa.Column("created_at", sync.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sync.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("route", "store", "order_id", "operation", "digest", name="uq_warning"),
    )
    with op.batch_alter_table("warnings", schema=None) as batch_op:
        batch_op.create_index("ix_warning_binding", ["binding_id"], unique=False)


def downgrade() -> None:
    """Drop the ``warnings`` table."""
    with op.batch_alter_table("warnings", schema=None) as batch_op:
        batch_op.drop_index("ix_warning_binding")
    op.drop_table("warnings")
