"""The submissions log and stored idempotent responses."""

import sqlalchemy as sa

from ordergate.db import UtcDateTime, json_type, metadata

# Every intake request, accepted or not: what support looks at to answer "what happened to my
# request?". The body is kept exactly as received.
submissions = sa.Table(
    "submissions",
    metadata,
    sa.Column("organisation_id", sa.Uuid, primary_key=True),
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("received_at", UtcDateTime, nullable=False),
    sa.Column("key_id", sa.String(64), nullable=False),
    sa.Column("dialect", sa.String(32), nullable=False),
    sa.Column("method", sa.String(8), nullable=False),
    sa.Column("path", sa.String(2048), nullable=False),
    sa.Column("status_code", sa.Integer, nullable=False),
    sa.Column("outcome", sa.String(32), nullable=False),
    sa.Column("order_ids", json_type(), nullable=False),
    sa.Column("errors", json_type(), nullable=True),
    sa.Column("body", sa.LargeBinary, nullable=True),
    sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"]),
    sa.Index(None, "organisation_id", "received_at"),
)

# The first complete response to a request that carried an Idempotency-Key, replayed for
# retries with the same key until it expires.
idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("organisation_id", sa.Uuid, primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # in_flight | completed
    sa.Column("status_code", sa.Integer, nullable=True),
    sa.Column("headers", json_type(), nullable=True),
    sa.Column("body", sa.LargeBinary, nullable=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),
    sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"]),
    sa.Index(None, "expires_at"),
)
