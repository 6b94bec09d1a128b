"""webhook deliveries, attempts and the endpoints' feed cursors

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 09:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ordergate.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_endpoints") as batch:
        batch.add_column(
            sa.Column("cursor_txid", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch.add_column(
            sa.Column("cursor_event_id", sa.BigInteger(), server_default="0", nullable=False)
        )
    # Endpoints registered before deliveries existed start at the end of the feed, like new
    # ones: they are not sent the events of the time when nothing was delivered.
    last = (
        "(SELECT e.{col} FROM events e WHERE e.organisation_id = webhook_endpoints.organisation_id"
        " ORDER BY e.txid DESC, e.id DESC LIMIT 1)"
    )
    op.execute(
        f"UPDATE webhook_endpoints SET cursor_txid = COALESCE({last.format(col='txid')}, 0), "
        f"cursor_event_id = COALESCE({last.format(col='id')}, 0)"
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("endpoint_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", ordergate.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("lease_token", sa.Uuid(), nullable=True),
        sa.Column("lease_until", ordergate.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", ordergate.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", ordergate.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id", "endpoint_id"],
            ["webhook_endpoints.organisation_id", "webhook_endpoints.id"],
            name=op.f("fk_webhook_deliveries_organisation_id_webhook_endpoints"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organisation_id", "id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint(
            "organisation_id",
            "endpoint_id",
            "event_id",
            name=op.f("uq_webhook_deliveries_organisation_id_endpoint_id_event_id"),
        ),
    )
    op.create_index(
        "ix_webhook_deliveries_due",
        "webhook_deliveries",
        ["next_attempt_at"],
        postgresql_where=sa.text("status = 'pending'"),
        sqlite_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        op.f("ix_webhook_deliveries_organisation_id_endpoint_id_order_id_seq"),
        "webhook_deliveries",
        ["organisation_id", "endpoint_id", "order_id", "seq"],
    )
    op.create_table(
        "webhook_attempts",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("delivery_id", sa.Uuid(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("attempted_at", ordergate.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("next_attempt_at", ordergate.db.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id", "delivery_id"],
            ["webhook_deliveries.organisation_id", "webhook_deliveries.id"],
            name=op.f("fk_webhook_attempts_organisation_id_webhook_deliveries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "organisation_id", "delivery_id", "attempt", name=op.f("pk_webhook_attempts")
        ),
    )


def downgrade() -> None:
    op.drop_table("webhook_attempts")
    op.drop_index(
        op.f("ix_webhook_deliveries_organisation_id_endpoint_id_order_id_seq"),
        table_name="webhook_deliveries",
    )
    op.drop_index("ix_webhook_deliveries_due", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    with op.batch_alter_table("webhook_endpoints") as batch:
        batch.drop_column("cursor_event_id")
        batch.drop_column("cursor_txid")
