"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23 16:33:18.608108
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ordergate.db

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "counters",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("organisation_id", "name", name=op.f("pk_counters")),
    )
    op.create_table(
        "organisations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("trkref", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("created_at", ordergate.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisations")),
        sa.UniqueConstraint("number", name=op.f("uq_organisations_number")),
        sa.UniqueConstraint("trkref", name=op.f("uq_organisations_trkref")),
    )
    op.create_table(
        "api_keys",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("salt", sa.LargeBinary(length=16), nullable=False),
        sa.Column("secret_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("scopes", sa.String(length=255), nullable=False),
        sa.Column("created_at", ordergate.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", ordergate.db.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_api_keys_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("organisation_id", "id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("id", name=op.f("uq_api_keys_id")),
    )
    op.create_table(
        "orders",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.BigInteger(), nullable=False),
        sa.Column("order_ref", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("submitted_via", sa.String(length=32), nullable=False),
        sa.Column("test", sa.Boolean(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("total", ordergate.db.Money(), nullable=True),
        sa.Column("placed_at", ordergate.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("created_at", ordergate.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", ordergate.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("doc", sa.JSON(), nullable=False),
        sa.Column("fulfillments", sa.JSON(), nullable=False),
        sa.Column("cancellation", sa.JSON(), nullable=True),
        sa.Column("raw_body", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_orders_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("organisation_id", "id", name=op.f("pk_orders")),
        sa.UniqueConstraint(
            "organisation_id", "number", name=op.f("uq_orders_organisation_id_number")
        ),
        sa.UniqueConstraint(
            "organisation_id", "order_ref", name=op.f("uq_orders_organisation_id_order_ref")
        ),
    )
    op.create_index(
        op.f("ix_orders_organisation_id_created_at_id"),
        "orders",
        ["organisation_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_orders_organisation_id_email"),
        "orders",
        ["organisation_id", "email"],
        unique=False,
    )
    op.create_index(
        op.f("ix_orders_organisation_id_updated_at_id"),
        "orders",
        ["organisation_id", "updated_at", "id"],
        unique=False,
    )
    op.create_table(
        "order_items",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("line_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=255), nullable=False),
        sa.Column("gtin", sa.String(length=14), nullable=True),
        sa.Column("name", sa.String(length=1000), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price", ordergate.db.Money(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id", "order_id"],
            ["orders.organisation_id", "orders.id"],
            name=op.f("fk_order_items_organisation_id_orders"),
        ),
        sa.PrimaryKeyConstraint(
            "organisation_id", "order_id", "line_id", name=op.f("pk_order_items")
        ),
    )
    op.create_index(
        op.f("ix_order_items_organisation_id_sku"),
        "order_items",
        ["organisation_id", "sku"],
        unique=False,
    )
    op.create_table(
        "order_tags",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("tag", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id", "order_id"],
            ["orders.organisation_id", "orders.id"],
            name=op.f("fk_order_tags_organisation_id_orders"),
        ),
        sa.PrimaryKeyConstraint("organisation_id", "order_id", "tag", name=op.f("pk_order_tags")),
    )
    op.create_index(
        op.f("ix_order_tags_organisation_id_tag"),
        "order_tags",
        ["organisation_id", "tag"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_order_tags_organisation_id_tag"), table_name="order_tags")
    op.drop_table("order_tags")
    op.drop_index(op.f("ix_order_items_organisation_id_sku"), table_name="order_items")
    op.drop_table("order_items")
    op.drop_index(op.f("ix_orders_organisation_id_updated_at_id"), table_name="orders")
    op.drop_index(op.f("ix_orders_organisation_id_email"), table_name="orders")
    op.drop_index(op.f("ix_orders_organisation_id_created_at_id"), table_name="orders")
    op.drop_table("orders")
    op.drop_table("api_keys")
    op.drop_table("organisations")
    op.drop_table("counters")
