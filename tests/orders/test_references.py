"""The references between an order's tables hold on both engines: on SQLite as foreign key
constraints, on PostgreSQL as the statement-level checks of migration 0010 (the keys in
``db.CHECKED_PER_STATEMENT``). Every statement here runs in a transaction that is rolled back."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ordergate.db import Database
from ordergate.events.tables import events
from ordergate.orders.tables import order_history, order_items, order_tags, orders
from ordergate.tenancy.tables import organisations
from tests import factories
from tests.conftest import Tenant

NOW = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


@asynccontextmanager
async def rolled_back(database_url: str) -> AsyncIterator[AsyncConnection]:
    engine = Database(database_url).write_engine  # on SQLite: foreign_keys=ON, savepoints
    try:
        async with engine.connect() as conn:
            transaction = await conn.begin()
            try:
                yield conn
            finally:
                await transaction.rollback()
    finally:
        await engine.dispose()


async def refused(conn: AsyncConnection, statement: Any, constraint: str | None = None) -> None:
    """``statement`` fails as a foreign key violation (and leaves nothing). PostgreSQL's error
    names the ``constraint``, as a constraint's own would; SQLite's names none."""
    with pytest.raises(sa.exc.IntegrityError) as caught:
        async with conn.begin_nested():
            await conn.execute(statement)
    message = str(caught.value.orig)
    assert "foreign key" in message.lower(), message
    if constraint is not None and conn.dialect.name == "postgresql":
        assert constraint in message


async def stored_order(client: httpx.AsyncClient, tenant: Tenant) -> tuple[uuid.UUID, uuid.UUID]:
    """(organisation id, order id) of a new order with items, tags and history."""
    body = factories.order(tags=["a"], items=[factories.item(), factories.item(sku="S2")])
    r = await client.post("/v1/orders", json=body, headers=tenant.headers)
    assert r.status_code == 201, r.text
    return tenant.org.id, uuid.UUID(r.json()["id"])


def item(org: uuid.UUID, order: uuid.UUID, line_id: str) -> dict[str, Any]:
    return {
        "organisation_id": org,
        "order_id": order,
        "line_id": line_id,
        "position": 9,
        "sku": "X",
        "quantity": 1,
    }


async def count(conn: AsyncConnection, table: sa.Table, org: uuid.UUID) -> int:
    stmt = sa.select(sa.func.count()).select_from(table).where(table.c.organisation_id == org)
    return int((await conn.execute(stmt)).scalar_one())


async def test_rows_of_an_order_that_does_not_exist_are_refused_whole(
    database_url: str, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    org, order = await stored_order(client, tenant)
    missing = uuid.uuid4()
    async with rolled_back(database_url) as conn:
        before = [await count(conn, t, org) for t in (order_items, order_tags, order_history)]
        # One good row and one bad in each statement: the statement fails as a whole.
        rows = [item(org, order, "x1"), item(org, missing, "x2")]
        fk = "fk_order_items_organisation_id_orders"
        await refused(conn, order_items.insert().values(rows), fk)
        tags = [{"organisation_id": org, "order_id": o, "tag": "z"} for o in (order, missing)]
        fk = "fk_order_tags_organisation_id_orders"
        await refused(conn, order_tags.insert().values(tags), fk)
        history = [
            {"organisation_id": org, "order_id": o, "version": 9, "at": NOW, "kind": "updated"}
            for o in (order, missing)
        ]
        fk = "fk_order_history_organisation_id_orders"
        await refused(conn, order_history.insert().values(history), fk)
        after = [await count(conn, t, org) for t in (order_items, order_tags, order_history)]
        assert after == before
        # The same rows for the order that exists are accepted.
        await conn.execute(order_items.insert().values(item(org, order, "x1")))


async def test_an_order_or_event_of_no_organisation_is_refused(
    database_url: str, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    org, order = await stored_order(client, tenant)
    nobody = uuid.uuid4()
    async with rolled_back(database_url) as conn:
        row = (await conn.execute(sa.select(orders).where(orders.c.id == order))).mappings().one()
        copy = {**row, "organisation_id": nobody, "id": uuid.uuid4()}
        fk = "fk_orders_organisation_id_organisations"
        await refused(conn, orders.insert().values(copy), fk)
        event = (
            (await conn.execute(sa.select(events).where(events.c.organisation_id == org)))
            .mappings()
            .first()
        )
        assert event is not None
        stray = {**event, "organisation_id": nobody}
        fk = "fk_events_organisation_id_organisations"
        await refused(conn, events.insert().values(stray), fk)


async def test_an_order_with_rows_cannot_be_deleted_until_they_are(
    database_url: str, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    org, order = await stored_order(client, tenant)
    mine = orders.c.id == order
    async with rolled_back(database_url) as conn:
        await refused(conn, orders.delete().where(mine), "fk_order_items_organisation_id_orders")
        for child in (order_items, order_tags, order_history):
            await conn.execute(child.delete().where(child.c.order_id == order))
            if child is not order_history:  # history goes last: still referenced until then
                await refused(conn, orders.delete().where(mine))
        assert (await conn.execute(orders.delete().where(mine))).rowcount == 1


async def test_an_organisation_with_orders_cannot_be_deleted(
    database_url: str, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    org, _ = await stored_order(client, tenant)
    async with rolled_back(database_url) as conn:
        await refused(conn, organisations.delete().where(organisations.c.id == org))


async def test_the_key_of_a_referenced_order_never_changes(
    database_url: str, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    _, order = await stored_order(client, tenant)
    async with rolled_back(database_url) as conn:
        await refused(conn, orders.update().where(orders.c.id == order).values(id=uuid.uuid4()))
        stmt = order_items.update().where(order_items.c.order_id == order)
        await refused(conn, stmt.values(order_id=uuid.uuid4()))


async def test_a_copy_of_rows_of_an_order_that_does_not_exist_is_refused(
    postgres_url: str, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    # Imports write by COPY: the statement-level check covers it like an INSERT.
    org, order = await stored_order(client, tenant)
    conn = await asyncpg.connect(postgres_url.replace("+asyncpg", ""))
    try:
        columns = ("organisation_id", "order_id", "line_id", "position", "sku", "quantity")
        records = [(org, order, "c1", 5, "X", 1), (org, uuid.uuid4(), "c2", 6, "X", 1)]
        with pytest.raises(asyncpg.ForeignKeyViolationError) as caught:
            await conn.copy_records_to_table("order_items", records=records, columns=columns)
        assert caught.value.constraint_name == "fk_order_items_organisation_id_orders"
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM order_items WHERE order_id = $1 AND line_id = 'c1'", order
            )
            == 0
        )
    finally:
        await conn.close()
