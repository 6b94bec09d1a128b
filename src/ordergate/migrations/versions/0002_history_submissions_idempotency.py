"""history submissions idempotency

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 17:29:01.195124
"""

import uuid
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
    _move_raw_bodies_to_submissions()
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("raw_body")


def _move_raw_bodies_to_submissions() -> None:
    """Each stored body becomes a submissions-log row that the order points at, so that an
    upgrade loses no body (the request's method and path were not kept: recorded as unknown)."""
    conn = op.get_bind()
    orders = sa.table(
        "orders",
        sa.column("organisation_id", sa.Uuid()),
        sa.column("id", sa.Uuid()),
        sa.column("created_at", ordergate.db.UtcDateTime()),
        sa.column("submitted_via", sa.String()),
        sa.column("raw_body", sa.LargeBinary()),
        sa.column("submission_id", sa.Uuid()),
    )
    submissions = sa.table(
        "submissions",
        *(
            sa.column(name, type_)
            for name, type_ in (
                ("organisation_id", sa.Uuid()),
                ("id", sa.Uuid()),
                ("received_at", ordergate.db.UtcDateTime()),
                ("key_id", sa.String()),
                ("dialect", sa.String()),
                ("method", sa.String()),
                ("path", sa.String()),
                ("status_code", sa.Integer()),
                ("outcome", sa.String()),
                ("order_ids", sa.JSON()),
                ("body", sa.LargeBinary()),
            )
        ),
    )
    rows = conn.execute(
        sa.select(
            orders.c.organisation_id,
            orders.c.id,
            orders.c.created_at,
            orders.c.submitted_via,
            orders.c.raw_body,
        ).where(orders.c.raw_body.is_not(None))
    ).all()
    for org_id, order_id, created_at, via, body in rows:
        submission_id = uuid.uuid4()
        conn.execute(
            submissions.insert().values(
                organisation_id=org_id,
                id=submission_id,
                received_at=created_at,
                key_id="unknown",
                dialect=via,
                method="",
                path="",
                status_code=201,
                outcome="created",
                order_ids=[str(order_id)],
                body=body,
            )
        )
        conn.execute(
            orders.update()
            .where(orders.c.organisation_id == org_id, orders.c.id == order_id)
            .values(submission_id=submission_id)
        )


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("raw_body", sa.LargeBinary(), nullable=True))
        batch.drop_column("submission_id")
    op.drop_table("order_history")
    op.drop_index(op.f("ix_submissions_organisation_id_received_at"), table_name="submissions")
    op.drop_table("submissions")
    op.drop_index(op.f("ix_idempotency_keys_expires_at"), table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
