"""The schema is built by the Alembic migrations, and they match the tables in the code."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

import ordergate.intake.tables
import ordergate.orders.tables
import ordergate.tenancy.tables  # noqa: F401 - registers the tables
from ordergate.db import metadata


async def test_migrated_schema_matches_the_table_definitions(database_url: str) -> None:
    engine = create_async_engine(database_url)

    def diff(sync_conn: sa.Connection) -> list[Any]:
        ctx = MigrationContext.configure(sync_conn, opts={"compare_type": True})
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
