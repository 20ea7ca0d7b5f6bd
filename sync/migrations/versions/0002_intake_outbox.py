"""intake outbox: one payload row per delivery, inbox events point to it and record publishing

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sync.models

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``deliveries``; inbox rows get ``delivery_id``, ``published_at`` and an unpublished index."""
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store", sa.String(length=120), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("received_at", sync.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("delivery_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("published_at", sync.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.alter_column("payload", existing_type=sa.Text(), nullable=True)
        batch_op.create_foreign_key("fk_inbox_delivery", "deliveries", ["delivery_id"], ["id"])
        batch_op.create_index("ix_inbox_unpublished", ["status", "received_at"], unique=False)
    # Rows the old intake marked ``enqueued`` may never have reached the broker (issue #8): hand them
    # to the relay, which publishes them again (handling an event twice is harmless, losing it is not).
    op.execute("UPDATE inbox SET status = 'received' WHERE status = 'enqueued'")


def downgrade() -> None:
    """Back to one payload per inbox row."""
    op.execute("UPDATE inbox SET payload = (SELECT d.payload FROM deliveries d WHERE d.id = inbox.delivery_id) "
               "WHERE payload IS NULL")
    op.execute("UPDATE inbox SET payload = '' WHERE payload IS NULL")
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.drop_index("ix_inbox_unpublished")
        batch_op.drop_constraint("fk_inbox_delivery", type_="foreignkey")
        batch_op.alter_column("payload", existing_type=sa.Text(), nullable=False)
        batch_op.drop_column("published_at")
        batch_op.drop_column("delivery_id")
    op.drop_table("deliveries")
