"""Organisations and their API keys."""

import sqlalchemy as sa

from ordergate.db import UtcDateTime, metadata

organisations = sa.Table(
    "organisations",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    # Human-facing account number (Dropday's account-id, parcelLab's account).
    sa.Column("number", sa.Integer, nullable=False, unique=True),
    sa.Column("trkref", sa.String(64), nullable=False, unique=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("organisation_id", sa.Uuid, sa.ForeignKey("organisations.id"), primary_key=True),
    # The public half of a token ("ogk_…"); unique on its own so a token finds its key.
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("salt", sa.LargeBinary(16), nullable=False),
    sa.Column("secret_hash", sa.LargeBinary(32), nullable=False),
    sa.Column("scopes", sa.String(255), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("revoked_at", UtcDateTime, nullable=True),
    sa.UniqueConstraint("id"),
)
