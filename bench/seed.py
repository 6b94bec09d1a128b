"""The read-path database: N orders (1,000,000 by default) seeded fast, kept between runs.

The organisation is made through the CLI (which also migrates the schema and creates the
organisation's order-number sequence); the orders, their items and tags are then COPYed
straight into the tables, in the exact shape ordergate writes them: the stored ``doc`` is
what ``to_document(validate_order(...))`` makes of each body, money is BIGINT 1/10,000ths,
ids are UUIDv7 of the creation time, numbers 1..N, and the sequence is moved past N.
Seeded orders came through no request, so they have no submission and no history rows: the
read path does not look at either.

A marker table ``bench_seed`` records what was seeded; a later run whose marker matches
(same :data:`SEED_VERSION`, same N, same row count) reuses the database as it is.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import random
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import asyncpg
import orjson

from bench import orders, servers
from ordergate.orders.model import to_document, validate_order
from ordergate.web import parse_json

# Bump when the generator or the schema changes: the next run then seeds afresh.
SEED_VERSION = 3
TRKREF = "BENCH-READ"
_BATCH = 20_000
_MONEY_FACTOR = 10_000


def _uuid7(ms: int, rng: random.Random) -> uuid.UUID:
    """A UUIDv7 (RFC 9562) for a given Unix time in milliseconds, as ordergate makes them."""
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76 | rng.getrandbits(12) << 64
    value |= 0b10 << 62 | rng.getrandbits(62)
    return uuid.UUID(int=value)


def _money(value: str | None) -> int | None:
    return None if value is None else int(Decimal(value) * _MONEY_FACTOR)


class _Template:
    """A body and the rows it turns into, computed once through ordergate's own model."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        doc = to_document(validate_order(parse_json(orders.with_ref(body, "SEED"))))
        self.doc = doc
        customer = doc.get("customer") or {}
        email = customer.get("email")
        self.email = email.lower() if email else None
        self.currency = doc.get("currency")
        self.total = _money((doc.get("totals") or {}).get("total"))
        placed_at = doc.get("placed_at")
        self.placed_at = dt.datetime.fromisoformat(placed_at) if placed_at else None
        self.items = [
            (
                it["line_id"],
                i,
                it["sku"],
                it["gtin"],
                it["name"],
                it["quantity"],
                _money(it["unit_price"]),
                it["currency"],
            )
            for i, it in enumerate(doc["items"])
        ]
        self.tags = list(doc["tags"])


def _batches(
    org: uuid.UUID, total: int, templates: list[_Template]
) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
    rng = random.Random(11)
    # One order per second up to a day ago: the newest orders are the first page.
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=total + 86_400)
    order_rows: list[tuple[Any, ...]] = []
    item_rows: list[tuple[Any, ...]] = []
    tag_rows: list[tuple[Any, ...]] = []
    for n in range(1, total + 1):
        t = templates[n % len(templates)]
        ref = f"SEED-{n:08d}"
        created = start + dt.timedelta(seconds=n)
        order_id = _uuid7(int(created.timestamp() * 1000), rng)
        doc = orjson.dumps({**t.doc, "order_ref": ref}).decode()
        order_rows.append(
            (
                org,
                order_id,
                n,
                ref,
                "unfulfilled",
                1,
                "api",
                False,
                t.email,
                t.currency,
                t.total,
                t.placed_at,
                created,
                created,
                doc,
                "[]",
                None,
                None,  # submission_id: seeded orders came through no request
            )
        )
        item_rows.extend((org, order_id, *item) for item in t.items)
        tag_rows.extend((org, order_id, tag) for tag in t.tags)
        if len(order_rows) == _BATCH or n == total:
            yield order_rows, item_rows, tag_rows
            order_rows, item_rows, tag_rows = [], [], []


_ORDER_COLUMNS = (
    "organisation_id",
    "id",
    "number",
    "order_ref",
    "status",
    "version",
    "submitted_via",
    "test",
    "email",
    "currency",
    "total",
    "placed_at",
    "created_at",
    "updated_at",
    "doc",
    "fulfillments",
    "cancellation",
    "submission_id",
)
_ITEM_COLUMNS = (
    "organisation_id",
    "order_id",
    "line_id",
    "position",
    "sku",
    "gtin",
    "name",
    "quantity",
    "unit_price",
    "currency",
)
_TAG_COLUMNS = ("organisation_id", "order_id", "tag")
_TABLES = {"orders": _ORDER_COLUMNS, "order_items": _ITEM_COLUMNS, "order_tags": _TAG_COLUMNS}


async def _check_schema(conn: asyncpg.Connection) -> None:
    """Fail clearly if the migrations have moved away from the rows written here."""
    for table, ours in _TABLES.items():
        columns = await conn.fetch(
            "SELECT column_name, is_nullable = 'YES' OR column_default IS NOT NULL AS optional "
            "FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1",
            table,
        )
        unknown = set(ours) - {c["column_name"] for c in columns}
        missing = {c["column_name"] for c in columns if not c["optional"]} - set(ours)
        if unknown or missing:
            raise SystemExit(
                f"bench/seed.py is out of date with the schema of {table}: "
                f"gone {sorted(unknown)}, required {sorted(missing)}. Update its columns "
                "and bump SEED_VERSION."
            )


async def _seeded(dsn: str, total: int) -> bool:
    try:
        conn = await asyncpg.connect(dsn)
    except asyncpg.InvalidCatalogNameError:
        return False
    try:
        marker = await conn.fetchrow("SELECT version, orders FROM bench_seed")
        if marker is None or tuple(marker) != (SEED_VERSION, total):
            return False
        return await conn.fetchval("SELECT count(*) FROM orders") == total
    except asyncpg.UndefinedTableError:
        return False
    finally:
        await conn.close()


async def _prepare(conn: asyncpg.Connection) -> None:
    # The seed itself need not wait for fsync: it is checked (marker, count) before use.
    await conn.execute("SET synchronous_commit = off")
    # Rows are consistent by construction, so foreign-key triggers are skipped (superuser
    # only): items can then be copied at the same time as their orders.
    await conn.execute("SET session_replication_role = replica")


async def _copy(dsn: str, org: uuid.UUID, total: int) -> None:
    templates = [_Template(b) for b in orders.templates(2_000, seed=23)]
    conn = await asyncpg.connect(dsn)
    side = await asyncpg.connect(dsn)
    try:
        await _check_schema(conn)
        await _prepare(conn)
        await _prepare(side)
        # The plain secondary indexes are built once at the end from their own definitions,
        # several times faster than maintaining them row by row.
        indexes = await conn.fetch(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'public' "
            "AND i.tablename IN ('orders', 'order_items', 'order_tags') AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)"
        )
        for index in indexes:
            await conn.execute(f'DROP INDEX "{index["indexname"]}"')

        async def copy_items(item_rows: list[Any], tag_rows: list[Any]) -> None:
            await side.copy_records_to_table(
                "order_items", records=item_rows, columns=_ITEM_COLUMNS
            )
            await side.copy_records_to_table("order_tags", records=tag_rows, columns=_TAG_COLUMNS)

        # Batches are generated in a thread while the previous one is being copied, and
        # orders and their items go through two connections at once: Python and the two
        # PostgreSQL backends each keep a core busy.
        loop = asyncio.get_running_loop()
        batches = _batches(org, total, templates)
        pending = loop.run_in_executor(None, next, batches, None)
        done, began = 0, time.monotonic()
        while (batch := await pending) is not None:
            pending = loop.run_in_executor(None, next, batches, None)
            order_rows, item_rows, tag_rows = batch
            await asyncio.gather(
                conn.copy_records_to_table("orders", records=order_rows, columns=_ORDER_COLUMNS),
                copy_items(item_rows, tag_rows),
            )
            done += len(order_rows)
            if done % 100_000 < _BATCH:
                rate = done / (time.monotonic() - began)
                print(f"   seeded {done:>9,} orders ({rate:,.0f}/s)", flush=True)
        for index in indexes:
            await conn.execute(index["indexdef"])
        await conn.execute(f"SELECT setval('\"og_order_number_{org.hex}\"', $1)", total)
        for table in ("orders", "order_items", "order_tags"):
            await conn.execute(f"VACUUM (ANALYZE) {table}")
        await conn.execute(
            "CREATE TABLE bench_seed (version int NOT NULL, orders bigint NOT NULL, "
            "seeded_at timestamptz NOT NULL DEFAULT now())"
        )
        await conn.execute(
            "INSERT INTO bench_seed (version, orders) VALUES ($1, $2)", SEED_VERSION, total
        )
    finally:
        await side.close()
        await conn.close()


async def ensure(admin_dsn: str, database: str, total: int) -> None:
    """Make ``database`` hold ``total`` seeded orders, reusing a previous seed if it matches."""
    dsn = admin_dsn.rsplit("/", 1)[0] + "/" + database
    if await _seeded(dsn, total):
        print(f"   reusing the seeded database {database} ({total:,} orders)", flush=True)
        return
    print(
        f"   seeding {total:,} orders into {database} (once; kept for later runs) ...", flush=True
    )
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{database}"')
    finally:
        await admin.close()
    url = "postgresql+asyncpg://" + dsn.split("://", 1)[1]
    org = servers.cli_json(url, "org", "create", TRKREF, "--name", "Benchmark read path")
    began = time.monotonic()
    await _copy(dsn, uuid.UUID(org["id"]), total)
    print(f"   seeded in {time.monotonic() - began:,.0f} s", flush=True)


if __name__ == "__main__":  # python -m bench.seed [N]: seed (or check) on its own
    import sys

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    pg = os.environ.get("BENCH_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
    asyncio.run(ensure(pg, os.environ.get("BENCH_READ_DB", "ordergate_bench_read"), n))
