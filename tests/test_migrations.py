"""The schema is built by the Alembic migrations, and they match the tables in the code."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

import ordergate.events.tables
import ordergate.intake.tables
import ordergate.orders.tables
import ordergate.tenancy.tables  # noqa: F401 - registers the tables
from ordergate.db import compared, metadata


async def test_migrated_schema_matches_the_table_definitions(database_url: str) -> None:
    engine = create_async_engine(database_url)

    def diff(sync_conn: sa.Connection) -> list[Any]:
        opts = {"compare_type": True, "include_object": compared(sync_conn.dialect.name)}
        ctx = MigrationContext.configure(sync_conn, opts=opts)
        return list(compare_metadata(ctx, metadata))

    async with engine.connect() as conn:
        differences = await conn.run_sync(diff)
    await engine.dispose()
    assert differences == []


async def test_every_primary_key_starts_with_the_organisation(database_url: str) -> None:
    # SPEC §5: distributable by organisation (organisations itself is keyed by its id)
    for table in metadata.sorted_tables:
        first = next(iter(table.primary_key.columns)).name
        expected = "id" if table.name == "organisations" else "organisation_id"
        assert first == expected, table.name


async def test_upgrading_keeps_raw_bodies_in_the_submissions_log(tmp_path: Any) -> None:
    """0001 kept the raw body on the order; 0002 moves it to the submissions log."""
    import datetime as dt
    import uuid

    from alembic import command

    from ordergate.db import _alembic_config

    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    engine = create_async_engine(url)
    cfg = _alembic_config()

    def upgrade_to(target: str) -> Any:
        def run(sync_conn: sa.Connection) -> None:
            cfg.attributes["connection"] = sync_conn
            command.upgrade(cfg, target)

        return run

    org, order = uuid.uuid4(), uuid.uuid4()
    now = dt.datetime(2024, 1, 1)
    async with engine.begin() as conn:
        await conn.run_sync(upgrade_to("0001"))
        await conn.execute(
            sa.text(
                "INSERT INTO organisations (id, number, trkref, name, created_at) "
                "VALUES (:id, 1, 'OLD', 'Old', :now)"
            ),
            {"id": org.hex, "now": now},
        )
        await conn.execute(
            sa.text(
                "INSERT INTO orders (organisation_id, id, number, order_ref, status, version, "
                "submitted_via, test, created_at, updated_at, doc, fulfillments, raw_body) "
                "VALUES (:org, :id, 1, 'R1', 'unfulfilled', 1, 'api', 0, :now, :now, '{}', "
                "'[]', :body)"
            ),
            {"org": org.hex, "id": order.hex, "now": now, "body": b'{"order_ref": "R1"}'},
        )
    async with engine.begin() as conn:
        await conn.run_sync(upgrade_to("head"))
        body, order_ids = (
            await conn.execute(
                sa.text(
                    "SELECT s.body, s.order_ids FROM submissions s JOIN orders o "
                    "ON o.submission_id = s.id"
                )
            )
        ).one()
    await engine.dispose()
    assert body == b'{"order_ref": "R1"}'
    assert order_ids == f'["{order}"]'
