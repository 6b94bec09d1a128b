"""How an import writes a chunk: on PostgreSQL new orders go by COPY, the rest through the
batch path. Either way a chunk must give the outcomes and store the rows that the batch path
(``batch.apply_in_order``) gives and stores for the same lines."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

import orjson
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ordergate.app import create_app
from ordergate.db import Database
from ordergate.events.tables import events
from ordergate.intake import batch, imports
from ordergate.orders import service, store
from ordergate.orders.model import to_document, validate_order
from ordergate.orders.store import StoredOrder
from ordergate.orders.tables import order_history, order_items, order_tags, orders
from ordergate.tenancy.auth import Principal
from tests import factories
from tests.conftest import make_settings, make_tenant


def ndjson(*lines: Any) -> bytes:
    return b"".join(
        (line if isinstance(line, bytes) else orjson.dumps(line)) + b"\n" for line in lines
    )


@asynccontextmanager
async def two_tenants(database_url: str) -> AsyncIterator[tuple[Database, Principal, Principal]]:
    """A database and two fresh organisations: one written by the import, one by the batch
    path, to compare."""
    app = create_app(make_settings(database_url))
    async with app.router.lifespan_context(app):
        principals = []
        for _ in range(2):
            tenant = await make_tenant(app)
            org = tenant.org
            principals.append(Principal(org.id, org.trkref, org.number, "k1", frozenset()))
        yield app.state.db, principals[0], principals[1]


def docs(*lines: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    return [(i + 1, to_document(validate_order(line))) for i, line in enumerate(lines)]


async def write_both(
    db: Database,
    by_import: Principal,
    by_batch: Principal,
    lines: list[Any],
    *,
    mode: batch.Mode,
    stored: list[dict[str, Any]] = (),  # type: ignore[assignment]
) -> tuple[list[batch.EntryResult], list[batch.EntryResult]]:
    """Store ``stored`` for both organisations, then write ``lines`` as one import chunk for
    the first and through the batch path for the second."""
    for principal in (by_import, by_batch):
        async with db.write() as conn:
            await batch.apply_in_order(
                conn, principal, docs(*stored), mode="create", submission_id=None, via="api"
            )
    prepared = imports.prepare(ndjson(*lines), 1)
    async with db.write() as conn:
        got = await imports.write_lines(conn, by_import, prepared, mode=mode, import_id=None)
    entries = [(n, p.document()) for n, p in prepared if not isinstance(p, batch.EntryResult)]
    invalid = [p for _, p in prepared if isinstance(p, batch.EntryResult)]
    async with db.write() as conn:
        want = await batch.apply_in_order(
            conn, by_batch, entries, mode=mode, submission_id=None, via=imports.VIA
        )
    return got, sorted(invalid + want, key=lambda r: r.index)


def outcomes(results: list[batch.EntryResult]) -> list[tuple[int, str, list[str]]]:
    return [(r.index, r.outcome, [e.code for e in r.errors]) for r in results]


def without_ids(value: Any) -> Any:
    """Fulfilments without their generated ids."""
    if isinstance(value, list) and value and isinstance(value[0], dict) and "id" in value[0]:
        return [{**f, "id": None} for f in value]
    return value


async def stored_rows(
    conn: AsyncConnection, org_id: UUID, *, numbers: bool = True
) -> dict[str, Any]:
    """Everything stored for the organisation's orders, with ids and times left out (and
    numbers, unless ``numbers``)."""
    o, i, t, h, e = orders.c, order_items.c, order_tags.c, order_history.c, events.c
    ref_of = {
        r.id: r.order_ref
        for r in await conn.execute(sa.select(o.id, o.order_ref).where(o.organisation_id == org_id))
    }
    order_rows = await conn.execute(
        sa.select(o).where(o.organisation_id == org_id).order_by(o.order_ref)
    )
    skip = {"organisation_id", "id", "created_at", "updated_at", "submission_id", "event_txid"}
    skip |= set() if numbers else {"number"}
    out: dict[str, Any] = {
        "orders": [
            {k: without_ids(v) for k, v in r._mapping.items() if k not in skip} for r in order_rows
        ]
    }
    for name, table, cols in (
        ("items", order_items, (i.order_id, i.line_id, i.position, i.sku, i.unit_price)),
        ("tags", order_tags, (t.order_id, t.tag)),
        ("history", order_history, (h.order_id, h.version, h.key_id, h.kind, h.data)),
    ):
        rows = await conn.execute(sa.select(*cols).where(table.c.organisation_id == org_id))
        out[name] = sorted((ref_of[r[0]], *r[1:]) for r in rows)
    rows = await conn.execute(
        sa.select(e.type, e.order_id, e.seq, e.data).where(e.organisation_id == org_id)
    )
    shown = []
    for r in rows:
        data = {k: without_ids(v) for k, v in r.data.items() if k not in skip}
        shown.append((ref_of[r.order_id], r.type, r.seq, orjson.dumps(data)))
    out["events"] = sorted(shown)
    return out


async def assert_same_rows(
    db: Database, a: Principal, b: Principal, *, numbers: bool = True
) -> None:
    async with db.read() as conn:
        assert await stored_rows(conn, a.organisation_id, numbers=numbers) == await stored_rows(
            conn, b.organisation_id, numbers=numbers
        )


async def test_a_create_chunk_gives_the_batch_paths_outcomes_and_rows(database_url: str) -> None:
    kept = factories.full_order(ref="KEPT")
    new_a, new_b = factories.full_order(ref="A"), factories.order(ref="B", tags=["x", "y"])
    lines = [
        new_a,
        new_b,
        new_a,  # the same again: duplicate
        {**new_b, "currency": "EUR"},  # line 2's ref, other content: conflict
        kept,  # stored before, the same: duplicate
        {**kept, "source": "elsewhere"},  # stored before, other content: conflict
        b"{not json",
        factories.order(ref="C", fulfilled_at="2024-05-01T10:00:00+02:00"),
    ]
    async with two_tenants(database_url) as (db, by_import, by_batch):
        got, want = await write_both(db, by_import, by_batch, lines, mode="create", stored=[kept])
        assert outcomes(got) == outcomes(want)
        assert [r.outcome for r in got] == [
            *("created", "created", "duplicate", "conflict", "duplicate", "conflict"),
            *("invalid", "created"),
        ]
        assert got[2].id == got[0].id
        await assert_same_rows(db, by_import, by_batch)


async def test_an_upsert_chunk_gives_the_batch_paths_outcomes_and_rows(database_url: str) -> None:
    kept, changed = factories.order(ref="KEPT"), factories.order(ref="CHANGED")
    new = factories.order(ref="NEW")
    lines = [
        new,
        kept,  # unchanged
        {**changed, "channel": "shop"},  # updated
        {**new, "channel": "shop"},  # line 1's order, replaced
        {**new, "channel": "shop"},  # and the same again: unchanged
    ]
    async with two_tenants(database_url) as (db, by_import, by_batch):
        stored = [kept, changed]
        got, want = await write_both(db, by_import, by_batch, lines, mode="upsert", stored=stored)
        assert outcomes(got) == outcomes(want)
        assert [r.outcome for r in got] == [
            *("created", "unchanged", "updated", "updated", "unchanged"),
        ]
        await assert_same_rows(db, by_import, by_batch)


async def test_a_ref_taken_after_the_look_up_is_written_the_usual_way(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A concurrent transaction stores one of the chunk's refs between the look-up and the
    COPY: the COPY fails on its unique key, is rolled back, and the lines go through the
    batch path (ON CONFLICT) with the outcomes they would have had."""
    raced = factories.order(ref="RACED")
    lines = [factories.order(ref="N1"), raced, {**raced, "channel": "other"}]

    async def everything_free(conn: AsyncConnection, org_id: UUID, refs: list[str]) -> set[str]:
        return set(refs)

    conflicts: list[store.RowsConflict] = []
    real_copy = store.copy_records

    async def copy_records(*args: Any, **kwargs: Any) -> None:
        try:
            await real_copy(*args, **kwargs)
        except store.RowsConflict as exc:
            conflicts.append(exc)
            raise

    monkeypatch.setattr(store, "free_refs", everything_free)
    monkeypatch.setattr(store, "copy_records", copy_records)
    async with two_tenants(database_url) as (db, by_import, by_batch):
        got, want = await write_both(db, by_import, by_batch, lines, mode="create", stored=[raced])
        assert [r.outcome for r in got] == ["created", "duplicate", "conflict"]
        assert outcomes(got) == outcomes(want)
        # The numbers the rolled-back COPY had taken are skipped (a gap, as after any
        # rollback); everything else is as the batch path wrote it.
        await assert_same_rows(db, by_import, by_batch, numbers=False)
        assert bool(conflicts) == database_url.startswith("postgresql")  # COPY was tried


def test_the_event_of_an_imported_order_is_the_order_as_rendered() -> None:
    for line in (
        factories.full_order(),
        factories.order(fulfilled_at="2024-05-01T10:00:00.5+02:00", tags=["a", "b", "a"]),
        factories.order(items=[factories.item(quantity=2), factories.item(sku="S2")]),
    ):
        valid = validate_order(line)
        doc = to_document(valid)
        status, fulfillments = service.opening_of(valid)
        # opening_of(order) is opening(document) (fulfilment ids aside: each is new)
        want_status, want_fulfillments = service.opening(doc)
        assert status == want_status
        assert [{**f, "id": ""} for f in fulfillments] == [
            {**f, "id": ""} for f in want_fulfillments
        ]
        rows = store.new_order_rows(valid, status, fulfillments)
        order = service.new_order(
            Principal(UUID(int=1), "T", 1, "k", frozenset()), doc, "import", None
        )
        stored = StoredOrder(
            **{
                **{f: getattr(order, f) for f in StoredOrder.__dataclass_fields__},
                "number": 7,
                "status": status,
                "fulfillments": fulfillments,
                "updated_at": order.created_at,
            }
        )
        shown_at = stored.render()["created_at"]
        assert (
            store.rendered_json(rows, order.id, 7, shown_at, "import")
            == orjson.dumps(stored.render()).decode()
        )
        assert rows.document() == doc
