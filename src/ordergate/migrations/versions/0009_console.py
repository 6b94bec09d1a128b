"""The operator console: per-organisation session secrets; an index of failed deliveries

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ordergate.db

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "console_secrets",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("secret", sa.LargeBinary(32), nullable=False),
        sa.Column("created_at", ordergate.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name="fk_console_secrets_organisation_id_organisations",
        ),
        sa.PrimaryKeyConstraint("organisation_id", name="pk_console_secrets"),
    )
    # Failed deliveries are few; the console lists them newest first without walking the rest.
    op.create_index(
        "ix_webhook_deliveries_failed",
        "webhook_deliveries",
        ["organisation_id", "id"],
        postgresql_where=sa.text("status = 'failed'"),
        sqlite_where=sa.text("status = 'failed'"),
    )


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_failed", table_name="webhook_deliveries")
    op.drop_table("console_secrets")
