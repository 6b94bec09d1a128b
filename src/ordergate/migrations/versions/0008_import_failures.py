"""imports.failures: failed attempts in a row at the current chunk

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 20:25:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "imports", sa.Column("failures", sa.Integer(), server_default="0", nullable=False)
    )


def downgrade() -> None:
    with op.batch_alter_table("imports") as batch:
        batch.drop_column("failures")
