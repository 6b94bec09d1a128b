"""The console's one table: the secret that signs an organisation's console sessions."""

import sqlalchemy as sa

from ordergate.db import UtcDateTime, metadata

# Made on the first sign-in of the organisation and kept in the database, so that every
# `ordergate serve` process (on any machine) accepts the sessions of every other one.
console_secrets = sa.Table(
    "console_secrets",
    metadata,
    sa.Column("organisation_id", sa.Uuid, primary_key=True),
    sa.Column("secret", sa.LargeBinary(32), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"]),
)
