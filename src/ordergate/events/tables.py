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
    # The dispatcher's position in the event feed for this endpoint: events after it have not
    # been queued for delivery yet. A new endpoint starts at the end of the feed.
    sa.Column("cursor_txid", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("cursor_event_id", sa.BigInteger, nullable=False, server_default="0"),
    sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"]),
)

# One row per (endpoint, event): the event's delivery to that endpoint, retried until it
# succeeds or its attempts run out. ``webhook-id`` on the wire is this row's id, the same on
# every attempt, so receivers can dedupe by it.
webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("organisation_id", sa.Uuid, primary_key=True),
    sa.Column("id", sa.Uuid, primary_key=True),  # UUIDv7: ordered by creation
    sa.Column("endpoint_id", sa.Uuid, nullable=False),
    sa.Column("event_id", sa.BigInteger, nullable=False),
    sa.Column("event_type", sa.String(64), nullable=False),
    sa.Column("order_id", sa.Uuid, nullable=True),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # pending | succeeded | failed
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("max_attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", UtcDateTime, nullable=True),  # null unless pending
    # A dispatcher that claims the delivery holds it until lease_until; past it, another
    # dispatcher may take it over (the first one died mid-attempt).
    sa.Column("lease_token", sa.Uuid, nullable=True),
    sa.Column("lease_until", UtcDateTime, nullable=True),
    sa.Column("last_status_code", sa.Integer, nullable=True),
    sa.Column("last_error", sa.String(500), nullable=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.ForeignKeyConstraint(
        ["organisation_id", "endpoint_id"],
        ["webhook_endpoints.organisation_id", "webhook_endpoints.id"],
        ondelete="CASCADE",
    ),
    sa.UniqueConstraint("organisation_id", "endpoint_id", "event_id"),
    # Claiming: due pending deliveries, across organisations.
    sa.Index(
        "ix_webhook_deliveries_due",
        "next_attempt_at",
        postgresql_where=sa.text("status = 'pending'"),
        sqlite_where=sa.text("status = 'pending'"),
    ),
    # Ordering: an earlier event of the same order still pending for the same endpoint.
    sa.Index(None, "organisation_id", "endpoint_id", "order_id", "seq"),
    # The console's list of failed deliveries, newest first (failures are few).
    sa.Index(
        "ix_webhook_deliveries_failed",
        "organisation_id",
        "id",
        postgresql_where=sa.text("status = 'failed'"),
        sqlite_where=sa.text("status = 'failed'"),
    ),
)

# Every attempt of a delivery, for the delivery log.
webhook_attempts = sa.Table(
    "webhook_attempts",
    metadata,
    sa.Column("organisation_id", sa.Uuid, primary_key=True),
    sa.Column("delivery_id", sa.Uuid, primary_key=True),
    sa.Column("attempt", sa.Integer, primary_key=True),  # 1, 2, 3, …
    sa.Column("attempted_at", UtcDateTime, nullable=False),
    sa.Column("status_code", sa.Integer, nullable=True),  # null: no HTTP answer
    sa.Column("latency_ms", sa.Integer, nullable=False),
    sa.Column("error", sa.String(500), nullable=True),
    sa.Column("next_attempt_at", UtcDateTime, nullable=True),  # scheduled after this attempt
    sa.ForeignKeyConstraint(
        ["organisation_id", "delivery_id"],
        ["webhook_deliveries.organisation_id", "webhook_deliveries.id"],
        ondelete="CASCADE",
    ),
)
