"""The outbox: one row per event, written in the same transaction as the change it reports."""

import sqlalchemy as sa

from ordergate.db import UtcDateTime, json_type, metadata

events = sa.Table(
    "events",
    metadata,
    sa.Column("organisation_id", sa.Uuid, primary_key=True),
    # Per-organisation counter (order of writing, not necessarily of committing).
    sa.Column("id", sa.BigInteger, primary_key=True),
    # PostgreSQL: the writing transaction's id. The feed orders by (txid, id) and shows only
    # transactions older than every one still running, so a late commit can never land
    # behind a cursor already handed out. SQLite (one writer at a time): 0.
    sa.Column("txid", sa.BigInteger, nullable=False),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("order_id", sa.Uuid, nullable=True),
    sa.Column("seq", sa.Integer, nullable=False),  # per order: its version after the change
    sa.Column("occurred_at", UtcDateTime, nullable=False),
    sa.Column("data", json_type(), nullable=False),
    sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"]),
    sa.Index(None, "organisation_id", "txid", "id"),
)

# Where events are delivered. The secret is kept (not hashed): deliveries are signed with it.
webhook_endpoints = sa.Table(
    "webhook_endpoints",
    metadata,
    sa.Column("organisation_id", sa.Uuid, primary_key=True),
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("url", sa.String(2048), nullable=False),
    sa.Column("event_types", json_type(), nullable=True),  # null: every type
    sa.Column("secret", sa.String(128), nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"]),
)
