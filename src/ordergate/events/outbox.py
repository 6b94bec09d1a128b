"""The transactional outbox and the event feed.

A change and its event are written in one transaction: there is never an event for a change
that rolled back, nor a committed change without its event. Per order, ``seq`` is the order's
version after the change, so it increases by one per event.

The feed must not skip an event whose transaction commits late. On PostgreSQL each event
records its transaction id; the feed orders by ``(txid, id)`` and shows only transactions older
than every transaction still running (``pg_snapshot_xmin``). A transaction that commits later
has a txid at or above that bound, so it always sorts after any cursor already handed out.
SQLite writes one transaction at a time, so its event ids are already in commit order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ordergate import db
from ordergate.events.tables import events
from ordergate.orders.fields import iso_utc
from ordergate.tenancy.service import EVENT_IDS


def event(
    organisation_id: UUID,
    type_: str,
    order_id: UUID | None,
    seq: int,
    occurred_at: dt.datetime,
    data: dict[str, Any],
) -> dict[str, Any]:
    return {
        "organisation_id": organisation_id,
        "type": type_,
        "order_id": order_id,
        "seq": seq,
        "occurred_at": occurred_at,
        "data": data,
    }


_PG_TXID = sa.text("pg_current_xact_id()::text::bigint")


def txid_sql(conn: AsyncConnection) -> sa.TextClause | None:
    """This transaction's id as SQL (PostgreSQL), None on SQLite."""
    return _PG_TXID if conn.dialect.name == "postgresql" else None


async def append(
    conn: AsyncConnection, rows: Sequence[dict[str, Any]], *, txid: int | None = None
) -> None:
    """Write events in the caller's transaction, set-based (one INSERT per organisation).

    On PostgreSQL an event's position is this transaction's id, or ``txid`` when given: for
    an order's next event, the position returned by ``orders.store.update``. A row may carry
    its own ``txid`` (updates of many orders at once); then every row of the call must.
    """
    by_org: dict[UUID, list[dict[str, Any]]] = {}
    for row in rows:
        by_org.setdefault(row["organisation_id"], []).append(row)
    for org_id, group in by_org.items():
        stmt = events.insert()
        next_id = db.next_value_sql(conn, org_id, EVENT_IDS)
        if next_id is not None:
            if "txid" in group[0]:
                stmt = stmt.values(id=next_id)
            else:
                stmt = stmt.values(id=next_id, txid=_PG_TXID if txid is None else txid)
            params = group
        else:
            ids = await db.take_numbers(conn, org_id, EVENT_IDS, len(group))
            params = [{**row, "id": i, "txid": 0} for row, i in zip(group, ids, strict=True)]
        if len(params) == 1:
            await conn.execute(stmt.values(**params[0]))
        else:
            await conn.execute(stmt, params)


_PG_VISIBLE = sa.text("txid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint")


def visible(conn: AsyncConnection) -> list[sa.ColumnExpressionArgument[bool]]:
    """The condition for an event to be shown: on PostgreSQL, written by a transaction older
    than every one still running (nothing later can commit behind it)."""
    return [_PG_VISIBLE] if conn.dialect.name == "postgresql" else []


async def end_of_feed(conn: AsyncConnection, org_id: UUID) -> tuple[int, int]:
    """The position of the organisation's newest event shown by the feed (a new webhook
    endpoint starts there). Events of transactions still running sort after it."""
    c = events.c
    row = (
        await conn.execute(
            sa.select(c.txid, c.id)
            .where(c.organisation_id == org_id, *visible(conn))
            .order_by(c.txid.desc(), c.id.desc())
            .limit(1)
        )
    ).first()
    return (row.txid, row.id) if row else (0, 0)


def event_columns() -> list[sa.ColumnElement[Any]]:
    c = events.c
    return [c.txid, c.id, c.type, c.order_id, c.seq, c.occurred_at, c.data]


def render(row: Any) -> dict[str, Any]:
    """The event as the feed shows it and webhooks send it."""
    return {
        "id": row.id,
        "seq": row.seq,
        "type": row.type,
        "order_id": str(row.order_id) if row.order_id else None,
        "occurred_at": iso_utc(row.occurred_at),
        "data": row.data,
    }


async def feed(
    conn: AsyncConnection, org_id: UUID, after: tuple[int, int] | None, limit: int
) -> list[tuple[tuple[int, int], dict[str, Any]]]:
    """Events after the cursor ``(txid, id)``, oldest first, each with its position."""
    c = events.c
    stmt = sa.select(*event_columns()).where(c.organisation_id == org_id, *visible(conn))
    if after is not None:
        stmt = stmt.where(
            sa.tuple_(c.txid, c.id) > sa.tuple_(sa.literal(after[0]), sa.literal(after[1]))
        )
    stmt = stmt.order_by(c.txid, c.id).limit(limit)
    return [((r.txid, r.id), render(r)) for r in await conn.execute(stmt)]
