"""The limit ordergate is compared with: a raw ASGI app, no framework.

``POST /v1/orders`` parses the body with orjson and inserts the same rows that ordergate
writes for a new order (one ``orders`` row with its number from the organisation's sequence,
its ``order_items`` and ``order_tags`` rows, its ``order_history`` entry and the request's
``submissions`` row with the body) with raw asyncpg in one transaction per request, then
answers 201 with a small JSON body. It does no validation and no authentication on purpose:
it is the floor of what any implementation of the endpoint must spend (HTTP, JSON, one
durable transaction), so ``ordergate / baseline`` says how much the framework, validation and
the SQL layer cost, independently of how fast the machine is. Keep its statements in step
with what ordergate writes for a create when the schema changes: a baseline that no longer
fits shows up as errors in the table.

``GET /v1/orders/{id}`` and ``GET /v1/orders?limit=50[&after=<created_at>,<id>]`` are the
same floor for the read path: one indexed SELECT, the stored document decoded, the
server's fields added and the result encoded with orjson, as ordergate renders an order.
(The baseline's cursor is its own plain ``after`` parameter, so that it never depends on
ordergate's cursor format.)

``POST /constant`` drains the same body and answers a constant: the HTTP ceiling of the
server stack (uvicorn + httptools + uvloop) on this machine.

Served by the same uvicorn, with the same worker counts, as ``ordergate serve``::

    BENCH_BASELINE_DSN=postgresql://... BENCH_BASELINE_ORG=<uuid> \
        uvicorn bench.baseline:create_app --factory --workers 2
"""

from __future__ import annotations

import datetime as dt
import os
import urllib.parse
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import asyncpg
import orjson
import uuid_utils.compat as uuid_utils

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_MONEY_FACTOR = 10_000  # ordergate stores money as BIGINT 1/10,000ths (ordergate.db.Money)
_CONSTANT = b'{"ok":true}'
_JSON_HEADERS = [(b"content-type", b"application/json")]


def _money(value: Any) -> int | None:
    return None if value is None else int(Decimal(str(value)) * _MONEY_FACTOR)


def _timestamp(value: str | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value)


class Baseline:
    def __init__(self, dsn: str, organisation_id: uuid.UUID, pool_size: int) -> None:
        self.dsn = dsn
        self.org = organisation_id
        self.pool_size = pool_size
        self.pool: asyncpg.Pool | None = None
        # The per-organisation sequence that ordergate itself takes order numbers from
        # (ordergate.db.create_counter): the baseline pays for numbering too.
        seq = f"og_order_number_{organisation_id.hex}"
        self.insert_order = f"""
            INSERT INTO orders (organisation_id, id, number, order_ref, status, version,
                submitted_via, test, email, currency, total, placed_at, created_at,
                updated_at, doc, fulfillments, cancellation, submission_id)
            VALUES ($1, $2, nextval('"{seq}"'), $3, 'unfulfilled', 1, 'api', $4, $5, $6, $7,
                $8, $9, $9, $10, '[]', NULL, $11)
            ON CONFLICT (organisation_id, order_ref) DO NOTHING
            RETURNING number"""
        self.insert_history = """
            INSERT INTO order_history (organisation_id, order_id, version, at, key_id,
                submission_id, kind, data)
            VALUES ($1, $2, 1, $3, 'baseline', $4, 'created', '{"submitted_via": "api"}')"""
        self.insert_submission = """
            INSERT INTO submissions (organisation_id, id, received_at, key_id, dialect, method,
                path, status_code, outcome, order_ids, errors, body)
            VALUES ($1, $2, $3, 'baseline', 'api', 'POST', '/v1/orders', 201, 'created', $4,
                NULL, $5)"""
        # One statement for all items: arrays in, rows out (one round trip whatever the count).
        self.insert_items = """
            INSERT INTO order_items (organisation_id, order_id, line_id, position, sku, gtin,
                name, quantity, unit_price, currency)
            SELECT $1, $2, * FROM unnest($3::text[], $4::int[], $5::text[], $6::text[],
                $7::text[], $8::int[], $9::bigint[], $10::text[])"""
        self.insert_tags = """
            INSERT INTO order_tags (organisation_id, order_id, tag)
            SELECT $1, $2, * FROM unnest($3::text[])"""

    async def get_order(self, order_id: str) -> tuple[int, bytes]:
        try:
            oid = uuid.UUID(order_id)
        except ValueError:
            return 404, b'{"error":"not found"}'
        assert self.pool is not None
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(_SELECT + " AND id = $2", self.org, oid)
        if row is None:
            return 404, b'{"error":"not found"}'
        return 200, orjson.dumps(_render(row))

    async def list_orders(self, query: bytes) -> tuple[int, bytes]:
        params = urllib.parse.parse_qs(query.decode())
        limit = int(params.get("limit", ["50"])[0])
        assert self.pool is not None
        async with self.pool.acquire() as conn:
            if "after" in params:
                created, oid = params["after"][0].split(",")
                rows = await conn.fetch(
                    _SELECT + " AND (created_at, id) < ($2, $3) " + _PAGE + " LIMIT $4",
                    self.org,
                    dt.datetime.fromisoformat(created),
                    uuid.UUID(oid),
                    limit + 1,
                )
            else:
                rows = await conn.fetch(_SELECT + _PAGE + " LIMIT $2", self.org, limit + 1)
        last = rows[limit - 1] if len(rows) > limit else None
        after = f"{last['created_at'].isoformat()},{last['id']}" if last else None
        page = {"data": [_render(r) for r in rows[:limit]], "next_cursor": after}
        return 200, orjson.dumps(page)

    async def startup(self) -> None:
        self.pool = await asyncpg.create_pool(
            self.dsn, min_size=self.pool_size, max_size=self.pool_size
        )

    async def shutdown(self) -> None:
        if self.pool is not None:
            await self.pool.close()

    async def create_order(self, body: bytes) -> tuple[int, bytes]:
        doc = orjson.loads(body)
        order_id = uuid_utils.uuid7()
        submission_id = uuid_utils.uuid7()
        now = dt.datetime.now(dt.UTC)
        customer = doc.get("customer") or {}
        email = customer.get("email")
        items = doc["items"]
        currency = doc.get("currency")
        assert self.pool is not None
        async with self.pool.acquire() as conn, conn.transaction():
            number = await conn.fetchval(
                self.insert_order,
                self.org,
                order_id,
                doc["order_ref"],
                bool(doc.get("test", False)),
                email.lower() if email else None,
                currency,
                _money((doc.get("totals") or {}).get("total")),
                _timestamp(doc.get("placed_at")),
                now,
                orjson.dumps(doc).decode(),
                submission_id,
            )
            if number is None:
                return 200, b'{"existing":true}'
            await conn.execute(
                self.insert_items,
                self.org,
                order_id,
                [str(it.get("line_id") or i + 1) for i, it in enumerate(items)],
                list(range(len(items))),
                [it["sku"] for it in items],
                [it.get("gtin") for it in items],
                [it.get("name") for it in items],
                [it.get("quantity", 1) for it in items],
                [_money(it.get("unit_price")) for it in items],
                [it.get("currency") or currency for it in items],
            )
            tags = list(dict.fromkeys(doc.get("tags") or ()))
            if tags:
                await conn.execute(self.insert_tags, self.org, order_id, tags)
            await conn.execute(self.insert_history, self.org, order_id, now, submission_id)
            await conn.execute(
                self.insert_submission,
                self.org,
                submission_id,
                now,
                orjson.dumps([str(order_id)]).decode(),
                body,
            )
        return 201, orjson.dumps({"id": str(order_id), "number": number})


_SELECT = """
    SELECT id, number, status, version, submitted_via, created_at, updated_at, doc,
        fulfillments, cancellation
    FROM orders WHERE organisation_id = $1"""
_PAGE = " ORDER BY created_at DESC, id DESC"


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _render(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        **orjson.loads(row["doc"]),
        "number": row["number"],
        "status": row["status"],
        "cancellation": orjson.loads(row["cancellation"]) if row["cancellation"] else None,
        "fulfillments": orjson.loads(row["fulfillments"]),
        "created_at": _iso(row["created_at"]),
        "updated_at": _iso(row["updated_at"]),
        "version": row["version"],
        "submitted_via": row["submitted_via"],
    }


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _respond(send: Send, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": _JSON_HEADERS})
    await send({"type": "http.response.body", "body": body})


def create_app() -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    baseline = Baseline(
        os.environ["BENCH_BASELINE_DSN"],
        uuid.UUID(os.environ["BENCH_BASELINE_ORG"]),
        int(os.environ.get("BENCH_BASELINE_POOL", "20")),
    )

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await baseline.startup()
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await baseline.shutdown()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        path, method = scope["path"], scope["method"]
        if path == "/healthz":
            await _respond(send, 200, _CONSTANT)
            return
        if method == "GET" and path.startswith("/v1/orders"):
            if path == "/v1/orders":
                status, out = await baseline.list_orders(scope["query_string"])
            else:
                status, out = await baseline.get_order(path.removeprefix("/v1/orders/"))
            await _respond(send, status, out)
            return
        body = await _read_body(receive)
        if method == "POST" and path == "/constant":
            await _respond(send, 201, _CONSTANT)
        elif method == "POST" and path == "/v1/orders":
            try:
                status, out = await baseline.create_order(body)
            except Exception:  # counted as an error by wrk; the harness reads the log
                import traceback

                traceback.print_exc()
                status, out = 500, b'{"error":true}'
            await _respond(send, status, out)
        else:
            await _respond(send, 404, b'{"error":"not found"}')

    return app
