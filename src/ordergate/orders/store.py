"""Every SQL statement about orders. Nothing here commits: the caller owns the transaction.

Writes are set-based on purpose (intake is the hot path): one INSERT for the order, one
multi-row INSERT for all its items, one for its tags.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple
from uuid import UUID

import asyncpg
import orjson
import sqlalchemy as sa
import uuid_utils.compat as uuid_utils
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

from ordergate import db
from ordergate.events.outbox import txid_sql as outbox_txid
from ordergate.orders.fields import iso_utc
from ordergate.orders.model import Order, document_json
from ordergate.orders.tables import order_items, order_tags, orders
from ordergate.tenancy.service import ORDER_NUMBERS


@dataclass(slots=True)
class StoredOrder:
    organisation_id: UUID
    id: UUID
    number: int
    order_ref: str
    status: str
    version: int
    submitted_via: str
    created_at: dt.datetime
    updated_at: dt.datetime
    doc: dict[str, Any]
    fulfillments: list[dict[str, Any]] = field(default_factory=list)
    cancellation: dict[str, Any] | None = None
    submission_id: UUID | None = None  # the submission that last created or replaced it

    def render(self) -> dict[str, Any]:
        """The order as the API returns it."""
        doc = self.doc
        # fulfilled_at follows the lifecycle: when the order became fulfilled (the last
        # fulfilment completed it), else null, whatever a later replacement body said.
        fulfilled_at = self.fulfillments[-1]["created_at"] if self.status == "fulfilled" else None
        if doc["fulfilled_at"] != fulfilled_at:
            doc = {**doc, "fulfilled_at": fulfilled_at}
        return {
            "id": str(self.id),
            **doc,
            "number": self.number,
            "status": self.status,
            "cancellation": self.cancellation,
            "fulfillments": self.fulfillments,
            "created_at": iso_utc(self.created_at),
            "updated_at": iso_utc(self.updated_at),
            "version": self.version,
            "submitted_via": self.submitted_via,
        }


_COLUMNS = (
    orders.c.organisation_id,
    orders.c.id,
    orders.c.number,
    orders.c.order_ref,
    orders.c.status,
    orders.c.version,
    orders.c.submitted_via,
    orders.c.created_at,
    orders.c.updated_at,
    orders.c.doc,
    orders.c.fulfillments,
    orders.c.cancellation,
    orders.c.submission_id,
)


def _stored(row: Any) -> StoredOrder:
    return StoredOrder(*row)


def _columns(doc: dict[str, Any]) -> dict[str, Any]:
    """Columns derived from the document, kept beside it for filtering."""
    customer = doc.get("customer") or {}
    email = customer.get("email")
    totals = doc.get("totals") or {}
    total = totals.get("total")
    placed_at = doc.get("placed_at")
    return {
        "test": doc["test"],
        "email": email.lower() if email else None,
        "currency": doc.get("currency"),
        "total": Decimal(total) if total is not None else None,
        "placed_at": dt.datetime.fromisoformat(placed_at) if placed_at else None,
    }


def _item_rows(org_id: UUID, order_id: UUID, doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "organisation_id": org_id,
            "order_id": order_id,
            "line_id": item["line_id"],
            "position": i,
            "sku": item["sku"],
            "gtin": item["gtin"],
            "name": item["name"],
            "quantity": item["quantity"],
            "unit_price": Decimal(item["unit_price"]) if item["unit_price"] is not None else None,
            "currency": item["currency"],
        }
        for i, item in enumerate(doc["items"])
    ]


def _tag_rows(org_id: UUID, order_id: UUID, doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"organisation_id": org_id, "order_id": order_id, "tag": t} for t in doc["tags"]]


def _order_row(order: StoredOrder) -> dict[str, Any]:
    return {
        "organisation_id": order.organisation_id,
        "id": order.id,
        "number": order.number,
        "order_ref": order.order_ref,
        "status": order.status,
        "version": order.version,
        "submitted_via": order.submitted_via,
        "created_at": order.created_at,
        "updated_at": order.updated_at,
        "doc": order.doc,
        "fulfillments": order.fulfillments,
        "cancellation": order.cancellation,
        "submission_id": order.submission_id,
        **_columns(order.doc),
    }


async def insert_many(conn: AsyncConnection, new: Sequence[StoredOrder]) -> set[UUID]:
    """Insert new orders and their items and tags, set-based: one
    statement per table whatever the count. Returns the ids actually inserted; an order whose
    order_ref was taken meanwhile by a concurrent transaction is left out.

    ``number`` is assigned here, from the organisation's counter, in input order.
    """
    if not new:
        return set()
    by_org: dict[UUID, list[StoredOrder]] = {}
    for order in new:
        by_org.setdefault(order.organisation_id, []).append(order)
    inserted: set[UUID] = set()
    for org_id, group in by_org.items():
        inserted |= await _insert_orders(conn, org_id, group)
    items: list[dict[str, Any]] = []
    tags: list[dict[str, Any]] = []
    for order in new:
        if order.id in inserted:
            items += _item_rows(order.organisation_id, order.id, order.doc)
            tags += _tag_rows(order.organisation_id, order.id, order.doc)
    if items:
        await conn.execute(order_items.insert(), items)
    if tags:
        await conn.execute(order_tags.insert(), tags)
    return inserted


async def _insert_orders(
    conn: AsyncConnection, org_id: UUID, group: list[StoredOrder]
) -> set[UUID]:
    """One INSERT for one organisation's new orders; each gets its number on the way in."""
    stmt = db.insert_ignoring_conflicts(conn, orders, ["organisation_id", "order_ref"])
    next_number = db.next_value_sql(conn, org_id, ORDER_NUMBERS)
    if next_number is not None:
        stmt = stmt.values(number=next_number, event_txid=outbox_txid(conn))
    else:
        numbers = await db.take_numbers(conn, org_id, ORDER_NUMBERS, len(group))
        for order, number in zip(group, numbers, strict=True):
            order.number = number
    rows = [_order_row(order) for order in group]
    if next_number is not None:
        for row in rows:
            del row["number"]
    stmt = stmt.returning(orders.c.id, orders.c.number)
    if len(rows) == 1:  # a plain INSERT … RETURNING: cheaper than the executemany path
        result = await conn.execute(stmt.values(**rows[0]))
    else:
        result = await conn.execute(stmt, rows)
    numbers_by_id = {r[0]: r[1] for r in result}
    for order in group:
        if order.id in numbers_by_id:
            order.number = numbers_by_id[order.id]
    return set(numbers_by_id)


# --- bulk writes by COPY (PostgreSQL imports) -------------------------------------------------
#
# An import writes its new orders with COPY rather than INSERT: no per-row statement handling,
# in SQLAlchemy or in PostgreSQL. Its validation processes turn each document into the rows'
# values at once (:func:`new_order_rows`), so that the writing process only adds ids,
# numbers and times: it is the one process an import cannot spread over cores.


class NewOrderRows(NamedTuple):
    """A new order's values for COPY, made from its document alone (in any process)."""

    order_ref: str
    doc: str  # the document as stored: JSON text, as the doc column's serialiser writes it
    # render()'s members of the document, braces stripped, when they differ from doc's (a
    # fulfilled_at that the lifecycle records differently); None: the same as doc's
    shown: str | None
    status: str
    fulfillments: str  # JSON text
    columns: tuple[Any, ...]  # test, email, currency, total (scaled), placed_at
    items: list[tuple[Any, ...]]  # line_id, position, sku, gtin, name, quantity, price, currency
    tags: list[str]

    def document(self) -> dict[str, Any]:
        return orjson.loads(self.doc)  # type: ignore[no-any-return]


def new_order_rows(order: Order, status: str, fulfillments: list[dict[str, Any]]) -> NewOrderRows:
    """The COPY values of a new order, read from its validated model (status and fulfilments
    from ``service.opening_of``). The document's text is serialised straight from the model;
    the columns and rows hold the same values as ``insert_many`` derives from the document."""
    text = document_json(order)
    fulfilled_at = fulfillments[-1]["created_at"] if status == "fulfilled" else None
    submitted_at = iso_utc(order.fulfilled_at) if order.fulfilled_at is not None else None
    shown = None
    if submitted_at != fulfilled_at:  # as render() shows it
        shown = orjson.dumps({**orjson.loads(text), "fulfilled_at": fulfilled_at}).decode()[1:-1]
    email = order.customer.email if order.customer is not None else None
    total = order.totals.total if order.totals is not None else None
    return NewOrderRows(
        order_ref=order.order_ref,
        doc=text,
        shown=shown,
        status=status,
        fulfillments=orjson.dumps(fulfillments).decode(),
        columns=(
            order.test,
            email.lower() if email else None,
            order.currency,
            None if total is None else int(total * _MONEY_FACTOR),
            order.placed_at,
        ),
        items=[
            (
                item.line_id,
                i,
                item.sku,
                item.gtin,
                item.name,
                item.quantity,
                None if item.unit_price is None else int(item.unit_price * _MONEY_FACTOR),
                item.currency,
            )
            for i, item in enumerate(order.items)
        ],
        tags=order.tags,
    )


_MONEY_FACTOR = Decimal(10) ** db.MONEY_SCALE  # as db.Money stores it


def rendered_json(new: NewOrderRows, order_id: UUID, number: int, at: str, via: str) -> str:
    """``orjson.dumps(StoredOrder.render())`` of the order just created from ``new``, made by
    splicing the stored text instead of building and serialising the order once more."""
    members = new.doc[1:-1] if new.shown is None else new.shown
    return (
        f'{{"id":"{order_id}",{members},"number":{number},"status":"{new.status}",'
        f'"cancellation":null,"fulfillments":{new.fulfillments},"created_at":"{at}",'
        f'"updated_at":"{at}","version":1,"submitted_via":{orjson.dumps(via).decode()}}}'
    )


class RowsConflict(Exception):
    """A COPY hit a unique constraint: a concurrent transaction took an order_ref meanwhile.
    The transaction is unusable until rolled back to a savepoint taken before the COPY."""


async def copy_records(
    conn: AsyncConnection, table: sa.Table, columns: Sequence[str], records: Sequence[Any]
) -> None:
    """PostgreSQL: one binary ``COPY`` of ``records`` (tuples of the columns' values as the
    driver takes them: JSON as text, money scaled) in the caller's transaction. Raises
    :class:`RowsConflict` on a unique violation."""
    if not records:
        return
    raw = await conn.get_raw_connection()
    # The SQLAlchemy transaction is already open on this driver connection: COPY joins it.
    driver: asyncpg.Connection = raw.driver_connection  # type: ignore[assignment]
    try:
        await driver.copy_records_to_table(table.name, records=records, columns=columns)
    except asyncpg.UniqueViolationError as exc:
        raise RowsConflict(str(exc)) from None


async def free_refs(conn: AsyncConnection, org_id: UUID, refs: Sequence[str]) -> set[str]:
    """The order_refs among ``refs`` that no stored order of the organisation has."""
    if not refs:
        return set()
    stmt = _REFS_TAKEN[conn.dialect.name == "postgresql"]
    rows = await conn.execute(stmt, {"org_id": org_id, "refs": list(refs)})
    return set(refs) - {r[0] for r in rows}


@dataclass(frozen=True, slots=True)
class Copied:
    """What :func:`copy_new` gave the orders: ids and numbers (in input order), the time
    they were created at, and this transaction's id (their ``event_txid``)."""

    ids: list[UUID]
    numbers: list[int]
    at: dt.datetime
    txid: int


_ORDER_COPY = (
    *("organisation_id", "id", "number", "order_ref", "status", "version", "submitted_via"),
    *("test", "email", "currency", "total", "placed_at", "created_at", "updated_at", "doc"),
    *("fulfillments", "cancellation", "submission_id", "event_txid"),
)
_ITEM_COPY = (
    *("organisation_id", "order_id", "line_id", "position", "sku", "gtin", "name", "quantity"),
    *("unit_price", "currency"),
)
_TAG_COPY = ("organisation_id", "order_id", "tag")


async def copy_new(
    conn: AsyncConnection,
    org_id: UUID,
    new: Sequence[NewOrderRows],
    *,
    via: str,
    submission_id: UUID | None,
) -> Copied:
    """:func:`insert_many` by COPY (PostgreSQL), for orders whose order_refs were found free
    in this transaction: the same rows, numbers from the organisation's counter in input
    order, no ON CONFLICT. If a concurrent transaction took one of the refs meanwhile this
    raises :class:`RowsConflict`; the caller rolls back to its savepoint and inserts them the
    usual way."""
    txid = int(await conn.scalar(_SELECT_TXID))
    await conn.execute(_LZ4_IF_AVAILABLE)
    numbers = await db.take_numbers(conn, org_id, ORDER_NUMBERS, len(new))
    ids = [uuid_utils.uuid7() for _ in new]
    now = dt.datetime.now(dt.UTC)
    await copy_records(
        conn,
        orders,
        _ORDER_COPY,
        [
            (org_id, i, number, o.order_ref, o.status, 1, via, *o.columns, now, now, o.doc)
            + (o.fulfillments, "null", submission_id, txid)
            for o, i, number in zip(new, ids, numbers, strict=True)
        ],
    )
    items = [(org_id, i, *item) for o, i in zip(new, ids, strict=True) for item in o.items]
    await copy_records(conn, order_items, _ITEM_COPY, items)
    tags = [(org_id, i, tag) for o, i in zip(new, ids, strict=True) for tag in o.tags]
    await copy_records(conn, order_tags, _TAG_COPY, tags)
    return Copied(ids, numbers, now, txid)


_SELECT_TXID = sa.text("SELECT pg_current_xact_id()::text::bigint")
# Documents and events of 2 KB and more are compressed as they are stored (TOAST). lz4 costs
# PostgreSQL about a third less CPU per imported order than the default pglz; reads
# decompress either. For this transaction only, and only where the server has lz4.
_LZ4_IF_AVAILABLE = sa.text(
    "SELECT set_config('default_toast_compression', 'lz4', true) FROM pg_settings "
    "WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)"
)


async def get_by_refs(
    conn: AsyncConnection, org_id: UUID, refs: Sequence[str], *, for_update: bool = False
) -> dict[str, StoredOrder]:
    if not refs:
        return {}
    stmt = _BY_REFS[conn.dialect.name == "postgresql"]
    if for_update:
        stmt = stmt.with_for_update()
    rows = await conn.execute(stmt, {"org_id": org_id, "refs": list(refs)})
    return {row.order_ref: _stored(row) for row in rows}


# The look-ups of the hot paths are built once: SQLAlchemy memoises a statement object's cache
# key, while building and keying a fresh one costs more than the query itself (~0.1 ms).
_ORG = orders.c.organisation_id == sa.bindparam("org_id")
_BY_ID = sa.select(*_COLUMNS).where(_ORG, orders.c.id == sa.bindparam("order_id"))
_BY_REF = sa.select(*_COLUMNS).where(_ORG, orders.c.order_ref == sa.bindparam("order_ref"))
_GET = {
    (True, False): _BY_ID,
    (True, True): _BY_ID.with_for_update(),
    (False, False): _BY_REF,
    (False, True): _BY_REF.with_for_update(),
}
# Many refs: PostgreSQL gets = ANY(:array), one statement text whatever the count, so asyncpg
# prepares it once per connection; SQLite prepares locally, so an expanding IN is fine.
_BY_REFS: dict[bool, Any] = {
    True: sa.select(*_COLUMNS).where(
        _ORG,
        orders.c.order_ref == sa.any_(sa.bindparam("refs", type_=postgresql.ARRAY(sa.String))),
    ),
    False: sa.select(*_COLUMNS).where(
        _ORG, orders.c.order_ref.in_(sa.bindparam("refs", expanding=True))
    ),
}


_REFS_TAKEN: dict[bool, Any] = {
    True: sa.select(orders.c.order_ref).where(
        _ORG,
        orders.c.order_ref == sa.any_(sa.bindparam("refs", type_=postgresql.ARRAY(sa.String))),
    ),
    False: sa.select(orders.c.order_ref).where(
        _ORG, orders.c.order_ref.in_(sa.bindparam("refs", expanding=True))
    ),
}


async def get_by_number(
    conn: AsyncConnection, org_id: UUID, number: int, *, for_update: bool = False
) -> StoredOrder | None:
    """By the organisation's order number (dialects whose vendors address orders by it)."""
    stmt = sa.select(*_COLUMNS).where(orders.c.organisation_id == org_id, orders.c.number == number)
    if for_update:
        stmt = stmt.with_for_update()
    row = (await conn.execute(stmt)).first()
    return None if row is None else _stored(row)


async def get(
    conn: AsyncConnection,
    org_id: UUID,
    *,
    order_id: UUID | None = None,
    order_ref: str | None = None,
    for_update: bool = False,
) -> StoredOrder | None:
    """By id or by order_ref (exactly one of them)."""
    stmt = _GET[(order_id is not None, for_update)]
    params = {"org_id": org_id, "order_id": order_id, "order_ref": order_ref}
    row = (await conn.execute(stmt, params)).first()
    return None if row is None else _stored(row)


async def update(
    conn: AsyncConnection,
    order: StoredOrder,
    *,
    previous_doc: dict[str, Any],
) -> int | None:
    """Write back a changed order (the caller has bumped version and updated_at); item and
    tag rows are rewritten only when those parts of the document changed.

    Returns the feed position (txid) for the change's event on PostgreSQL: this transaction's
    id, or the order's previous event's position if that is later (None on SQLite)."""
    values: dict[str, Any] = {
        "status": order.status,
        "version": order.version,
        "updated_at": order.updated_at,
        "submitted_via": order.submitted_via,
        "doc": order.doc,
        "fulfillments": order.fulfillments,
        "cancellation": order.cancellation,
        "submission_id": order.submission_id,
        **_columns(order.doc),
    }
    org_id = order.organisation_id
    stmt = orders.update().where(orders.c.organisation_id == org_id, orders.c.id == order.id)
    own_txid = outbox_txid(conn)
    event_txid: int | None = None
    if own_txid is None:
        await conn.execute(stmt.values(**values))
    else:
        key = sa.func.greatest(own_txid, orders.c.event_txid)
        result = await conn.execute(
            stmt.values(**values, event_txid=key).returning(orders.c.event_txid)
        )
        event_txid = result.scalar_one()
    if previous_doc["items"] != order.doc["items"]:
        await conn.execute(
            order_items.delete().where(
                order_items.c.organisation_id == org_id, order_items.c.order_id == order.id
            )
        )
        await conn.execute(order_items.insert(), _item_rows(org_id, order.id, order.doc))
    if previous_doc["tags"] != order.doc["tags"]:
        await conn.execute(
            order_tags.delete().where(
                order_tags.c.organisation_id == org_id, order_tags.c.order_id == order.id
            )
        )
        if order.doc["tags"]:
            await conn.execute(order_tags.insert(), _tag_rows(org_id, order.id, order.doc))
    return event_txid


# --- listing -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ListFilter:
    statuses: Sequence[str] = ()
    created_after: dt.datetime | None = None
    created_before: dt.datetime | None = None
    updated_after: dt.datetime | None = None
    updated_before: dt.datetime | None = None
    email: str | None = None
    sku: str | None = None
    tag: str | None = None
    order_ref: str | None = None
    test: bool | None = None
    order_ref_contains: str | None = None  # a substring, case-insensitive (dialects)
    total_min: Decimal | None = None
    total_max: Decimal | None = None
    number: int | None = None  # the organisation's order number (the console)
    submitted_via: str | None = None  # the front door: "api" or a dialect (the console)


SORT_COLUMNS = {"created_at": orders.c.created_at, "updated_at": orders.c.updated_at}


async def list_page(
    conn: AsyncConnection,
    org_id: UUID,
    flt: ListFilter,
    *,
    sort: str,
    descending: bool,
    limit: int,
    after: tuple[dt.datetime, UUID] | None,
    until: dt.datetime | None = None,
) -> list[StoredOrder]:
    """One keyset page: rows strictly after ``after`` in (sort column, id) order, and with
    the sort column before ``until`` when given.

    Keyset rather than OFFSET: a deep page costs the same as the first, and orders that
    arrive while a client pages do not shift the pages it has not read yet.
    """
    key = SORT_COLUMNS[sort]
    conds = _conditions(org_id, flt)
    if until is not None:
        conds.append(key < until)
    if after is not None:
        position = sa.tuple_(key, orders.c.id)
        bound = sa.tuple_(sa.literal(after[0], db.UtcDateTime), sa.literal(after[1], sa.Uuid))
        conds.append(position < bound if descending else position > bound)
    order_by = (key.desc(), orders.c.id.desc()) if descending else (key.asc(), orders.c.id.asc())
    stmt = sa.select(*_COLUMNS).where(*conds).order_by(*order_by).limit(limit)
    return [_stored(r) for r in await conn.execute(stmt)]


async def page_by_offset(
    conn: AsyncConnection, org_id: UUID, flt: ListFilter, *, limit: int, offset: int
) -> tuple[list[StoredOrder], int]:
    """Newest first, by page number (for dialects whose vendors page that way), and the
    number of matching orders."""
    conds = _conditions(org_id, flt)
    total = await conn.scalar(sa.select(sa.func.count()).select_from(orders).where(*conds))
    stmt = (
        sa.select(*_COLUMNS)
        .where(*conds)
        .order_by(orders.c.created_at.desc(), orders.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [_stored(r) for r in await conn.execute(stmt)], int(total or 0)


def _conditions(org_id: UUID, flt: ListFilter) -> list[sa.ColumnElement[bool]]:
    conds: list[sa.ColumnElement[bool]] = [orders.c.organisation_id == org_id]
    if flt.order_ref_contains:
        text = flt.order_ref_contains
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conds.append(orders.c.order_ref.ilike(f"%{escaped}%", escape="\\"))
    if flt.total_min is not None:
        conds.append(orders.c.total >= flt.total_min)
    if flt.total_max is not None:
        conds.append(orders.c.total <= flt.total_max)
    if flt.statuses:
        conds.append(orders.c.status.in_(flt.statuses))
    if flt.created_after is not None:
        conds.append(orders.c.created_at > flt.created_after)
    if flt.created_before is not None:
        conds.append(orders.c.created_at < flt.created_before)
    if flt.updated_after is not None:
        conds.append(orders.c.updated_at > flt.updated_after)
    if flt.updated_before is not None:
        conds.append(orders.c.updated_at < flt.updated_before)
    if flt.email is not None:
        conds.append(orders.c.email == flt.email.lower())
    if flt.order_ref is not None:
        conds.append(orders.c.order_ref == flt.order_ref)
    if flt.test is not None:
        conds.append(orders.c.test == flt.test)
    if flt.number is not None:
        conds.append(orders.c.number == flt.number)
    if flt.submitted_via is not None:
        conds.append(orders.c.submitted_via == flt.submitted_via)
    if flt.sku is not None:
        conds.append(
            sa.exists().where(
                order_items.c.organisation_id == org_id,
                order_items.c.order_id == orders.c.id,
                order_items.c.sku == flt.sku,
            )
        )
    if flt.tag is not None:
        conds.append(
            sa.exists().where(
                order_tags.c.organisation_id == org_id,
                order_tags.c.order_id == orders.c.id,
                order_tags.c.tag == flt.tag,
            )
        )
    return conds


async def count_by_via(
    conn: AsyncConnection, org_id: UUID, start: dt.datetime, end: dt.datetime
) -> dict[str, int]:
    """Orders created in ``[start, end)``, counted per front door (``submitted_via``): one
    range scan of the (organisation_id, created_at) index, so the cost is that of the window,
    never of the whole table."""
    rows = await conn.execute(
        sa.select(orders.c.submitted_via, sa.func.count())
        .where(
            orders.c.organisation_id == org_id,
            orders.c.created_at >= start,
            orders.c.created_at < end,
        )
        .group_by(orders.c.submitted_via)
    )
    return {via: int(n) for via, n in rows}


_UPDATE_BY_KEY = orders.update().where(
    orders.c.organisation_id == sa.bindparam("b_org"), orders.c.id == sa.bindparam("b_id")
)


async def update_many(
    conn: AsyncConnection, changed: Sequence[tuple[StoredOrder, dict[str, Any]]]
) -> dict[UUID, int | None]:
    """:func:`update` for many orders (each with its previous document), set-based: one
    executemany UPDATE, one DELETE and one INSERT each for the items and tags that changed.
    Returns each order's event position, as :func:`update` does."""
    if len(changed) <= 1:
        return {o.id: await update(conn, o, previous_doc=p) for o, p in changed}
    params = [
        {
            "b_org": o.organisation_id,
            "b_id": o.id,
            "status": o.status,
            "version": o.version,
            "updated_at": o.updated_at,
            "submitted_via": o.submitted_via,
            "doc": o.doc,
            "fulfillments": o.fulfillments,
            "cancellation": o.cancellation,
            "submission_id": o.submission_id,
            **_columns(o.doc),
        }
        for o, _ in changed
    ]
    own_txid = outbox_txid(conn)
    stmt = _UPDATE_BY_KEY
    if own_txid is not None:
        stmt = stmt.values(event_txid=sa.func.greatest(own_txid, orders.c.event_txid))
    await conn.execute(stmt, params)
    positions: dict[UUID, int | None] = {o.id: None for o, _ in changed}
    keys = [(o.organisation_id, o.id) for o, _ in changed]
    if own_txid is not None:
        rows = await conn.execute(
            sa.select(orders.c.id, orders.c.event_txid).where(
                sa.tuple_(orders.c.organisation_id, orders.c.id).in_(keys)
            )
        )
        positions.update({r.id: r.event_txid for r in rows})
    for table, part, make in (
        (order_items, "items", _item_rows),
        (order_tags, "tags", _tag_rows),
    ):
        touched = [o for o, previous in changed if previous[part] != o.doc[part]]
        if not touched:
            continue
        await conn.execute(
            table.delete().where(
                sa.tuple_(table.c.organisation_id, table.c.order_id).in_(
                    [(o.organisation_id, o.id) for o in touched]
                )
            )
        )
        rows_ = [r for o in touched for r in make(o.organisation_id, o.id, o.doc)]
        if rows_:
            await conn.execute(table.insert(), rows_)
    return positions
