"""Orders, their items and tags.

The order itself is one row whose ``doc`` column holds the normalised canonical document
(returned as is, without re-assembling it from joins). What clients filter on is kept in
columns and child rows beside it: items (by sku), tags, email, status, times.
"""

import sqlalchemy as sa

from ordergate.db import Money, UtcDateTime, json_type, metadata

orders = sa.Table(
    "orders",
    metadata,
    sa.Column("organisation_id", sa.Uuid, primary_key=True),
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("number", sa.BigInteger, nullable=False),
    sa.Column("order_ref", sa.String(255), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("submitted_via", sa.String(32), nullable=False),
    sa.Column("test", sa.Boolean, nullable=False),
    sa.Column("email", sa.String(320), nullable=True),  # customer email, lower-cased
    sa.Column("currency", sa.String(3), nullable=True),
    sa.Column("total", Money, nullable=True),
    sa.Column("placed_at", UtcDateTime, nullable=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Column("doc", json_type(), nullable=False),
    sa.Column("fulfillments", json_type(), nullable=False),
    sa.Column("cancellation", json_type(), nullable=True),
    # The submission that last created or replaced it (its body is in the submissions log).
    sa.Column("submission_id", sa.Uuid, nullable=True),
    # PostgreSQL: the feed position (txid) of the order's latest event. The next event of the
    # order sorts at or after it, even when its own transaction id is older (see outbox).
    sa.Column("event_txid", sa.BigInteger, nullable=False, server_default="0"),
    sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"]),
    sa.UniqueConstraint("organisation_id", "order_ref"),
    sa.UniqueConstraint("organisation_id", "number"),
    sa.Index(None, "organisation_id", "created_at", "id"),
    sa.Index(None, "organisation_id", "updated_at", "id"),
    sa.Index(None, "organisation_id", "email"),
)

order_items = sa.Table(
    "order_items",
    metadata,
    sa.Column("organisation_id", sa.Uuid, primary_key=True),
    sa.Column("order_id", sa.Uuid, primary_key=True),
    sa.Column("line_id", sa.String(64), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("sku", sa.String(255), nullable=False),
    sa.Column("gtin", sa.String(14), nullable=True),
    sa.Column("name", sa.String(1000), nullable=True),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("unit_price", Money, nullable=True),
    sa.Column("currency", sa.String(3), nullable=True),
    sa.ForeignKeyConstraint(
        ["organisation_id", "order_id"], ["orders.organisation_id", "orders.id"]
    ),
    sa.Index(None, "organisation_id", "sku"),
)

order_tags = sa.Table(
    "order_tags",
    metadata,
    sa.Column("organisation_id", sa.Uuid, primary_key=True),
    sa.Column("order_id", sa.Uuid, primary_key=True),
    sa.Column("tag", sa.String(255), primary_key=True),
    sa.ForeignKeyConstraint(
        ["organisation_id", "order_id"], ["orders.organisation_id", "orders.id"]
    ),
    sa.Index(None, "organisation_id", "tag"),
)

# Append-only: one row per change, keyed by the version the change produced.
order_history = sa.Table(
    "order_history",
    metadata,
    sa.Column("organisation_id", sa.Uuid, primary_key=True),
    sa.Column("order_id", sa.Uuid, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("key_id", sa.String(64), nullable=True),
    sa.Column("submission_id", sa.Uuid, nullable=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("data", json_type(), nullable=True),
    sa.ForeignKeyConstraint(
        ["organisation_id", "order_id"], ["orders.organisation_id", "orders.id"]
    ),
)
