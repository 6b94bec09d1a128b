"""history submissions idempotency

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 17:29:01.195124
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ordergate.db

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("headers", sa.JSON(), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", ordergate.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", ordergate.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_idempotency_keys_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("organisation_id", "key", name=op.f("pk_idempotency_keys")),
    )
    op.create_index(
        op.f("ix_idempotency_keys_expires_at"), "idempotency_keys", ["expires_at"], unique=False
    )
    op.create_table(
        "submissions",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("received_at", ordergate.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("dialect", sa.String(length=32), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("path", sa.String(length=2048), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("order_ids", sa.JSON(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_submissions_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("organisation_id", "id", name=op.f("pk_submissions")),
    )
    op.create_index(
        op.f("ix_submissions_organisation_id_received_at"),
        "submissions",
        ["organisation_id", "received_at"],
        unique=False,
    )
    op.create_table(
        "order_history",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("at", ordergate.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=True),
        sa.Column("submission_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id", "order_id"],
            ["orders.organisation_id", "orders.id"],
            name=op.f("fk_order_history_organisation_id_orders"),
        ),
        sa.PrimaryKeyConstraint(
            "organisation_id", "order_id", "version", name=op.f("pk_order_history")
        ),
    )
    # batch mode: SQLite alters a table by copying it; PostgreSQL gets plain ALTERs
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("submission_id", sa.Uuid(), nullable=True))
        batch.drop_column("raw_body")


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("raw_body", sa.LargeBinary(), nullable=True))
        batch.drop_column("submission_id")
    op.drop_table("order_history")
    op.drop_index(op.f("ix_submissions_organisation_id_received_at"), table_name="submissions")
    op.drop_table("submissions")
    op.drop_index(op.f("ix_idempotency_keys_expires_at"), table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
