"""orders.event_txid: the feed position of an order's latest event

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 10:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # 0 for existing orders: their events are all committed, so any later change's own
    # transaction id already sorts after them.
    op.add_column(
        "orders", sa.Column("event_txid", sa.BigInteger(), server_default="0", nullable=False)
    )


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("event_txid")
