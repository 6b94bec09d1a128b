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

# NDJSON imports: the job, its progress and counts. An import's lines are processed chunk by
# chunk; each chunk's orders, the counts and ``next_chunk`` are written in one transaction, so
# a job resumed after a crash neither repeats nor skips a line.
imports = sa.Table(
    "imports",
    metadata,
    sa.Column("organisation_id", sa.Uuid, primary_key=True),
    sa.Column("id", sa.Uuid, primary_key=True),  # also the import's submission id
    sa.Column("key_id", sa.String(64), nullable=False),
    sa.Column("source", sa.String(16), nullable=False),  # api | cli
    sa.Column("mode", sa.String(16), nullable=False),  # create | upsert
    # receiving (body still arriving) | queued | running | completed | failed
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("bytes", sa.BigInteger, nullable=False),
    sa.Column("total", sa.Integer, nullable=True),  # non-blank lines; known once received
    sa.Column("chunks", sa.Integer, nullable=False),
    sa.Column("next_chunk", sa.Integer, nullable=False),
    sa.Column("processed", sa.Integer, nullable=False),
    sa.Column("created", sa.Integer, nullable=False),
    sa.Column("updated", sa.Integer, nullable=False),
    sa.Column("unchanged", sa.Integer, nullable=False),
    sa.Column("duplicates", sa.Integer, nullable=False),
    sa.Column("conflicts", sa.Integer, nullable=False),
    sa.Column("invalid", sa.Integer, nullable=False),
    sa.Column("errors", json_type(), nullable=False),  # the first 1,000 [{line, errors}]
    sa.Column("failure", sa.String(500), nullable=True),  # the last chunk failure, if any
    sa.Column("failures", sa.Integer, nullable=False, server_default="0"),  # in a row
    sa.Column("idempotency_key", sa.String(255), nullable=True),
    sa.Column("body_sha256", sa.String(64), nullable=True),
    sa.Column("lease_token", sa.Uuid, nullable=True),
    sa.Column("lease_until", UtcDateTime, nullable=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Column("completed_at", UtcDateTime, nullable=True),
    sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"]),
    sa.UniqueConstraint("organisation_id", "idempotency_key"),
    sa.Index(
        "ix_imports_runnable",
        "created_at",
        postgresql_where=sa.text("status IN ('queued', 'running')"),
        sqlite_where=sa.text("status IN ('queued', 'running')"),
    ),
)

# The spooled body: whole lines, about ORDERGATE_IMPORT_CHUNK_BYTES each, deleted once
# processed. In the database so that any process can run the import, and it survives restarts.
import_chunks = sa.Table(
    "import_chunks",
    metadata,
    sa.Column("organisation_id", sa.Uuid, primary_key=True),
    sa.Column("import_id", sa.Uuid, primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),  # 0, 1, 2, …
    sa.Column("first_line", sa.Integer, nullable=False),  # 1-based line number of its start
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.ForeignKeyConstraint(
        ["organisation_id", "import_id"],
        ["imports.organisation_id", "imports.id"],
        ondelete="CASCADE",
    ),
)
