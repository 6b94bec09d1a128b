"""events outbox

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 18:12:39.752924
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ordergate.db

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("txid", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("occurred_at", ordergate.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_events_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("organisation_id", "id", name=op.f("pk_events")),
    )
    op.create_index(
        op.f("ix_events_organisation_id_txid_id"),
        "events",
        ["organisation_id", "txid", "id"],
        unique=False,
    )
    # every existing organisation gets its event counter (new ones get it when created)
    conn = op.get_bind()
    for (org_id,) in conn.execute(sa.text("SELECT id FROM organisations")):
        org_hex = org_id.hex if isinstance(org_id, uuid.UUID) else uuid.UUID(str(org_id)).hex
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text(f'CREATE SEQUENCE IF NOT EXISTS "og_event_id_{org_hex}"'))
        else:
            conn.execute(
                sa.text(
                    "INSERT INTO counters (organisation_id, name, value) VALUES (:o, 'event_id', 0)"
                ),
                {"o": org_hex},
            )


def downgrade() -> None:
    op.drop_index(op.f("ix_events_organisation_id_txid_id"), table_name="events")
    op.drop_table("events")
