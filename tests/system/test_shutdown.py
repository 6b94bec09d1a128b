"""Graceful shutdown: SIGTERM lets work in flight finish and gives back what it cannot finish.

- ``ordergate serve``: a request still arriving when SIGTERM comes gets its 201; the webhook
  deliveries that the server's own dispatcher holds are given back, not left leased.
- ``ordergate worker`` (PostgreSQL), stopped by SIGTERM to its whole process group (as systemd and a
  terminal's Ctrl-C do): the delivery it holds and the import it runs are given back at once,
  and another dispatcher and runner finish them without waiting for a lease to expire.

Attempts here could take 20 s (the webhook timeout) against a receiver that never answers;
the shutdown grace is 1 s, so a prompt exit shows that the attempts were cut short.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import sqlalchemy as sa

from ordergate.app import create_app
from ordergate.db import Database
from ordergate.events.dispatcher import Dispatcher
from ordergate.events.tables import webhook_deliveries, webhook_endpoints
from ordergate.intake.runner import ImportRunner
from ordergate.intake.tables import imports
from ordergate.orders.tables import orders
from tests.conftest import make_settings
from tests.events.receiver import HANG, Receiver
from tests.events.test_dispatch import SECRET
from tests.system.processes import Key, eventually, make_key, order_body, started

pytestmark = pytest.mark.slow

STOPPING = {
    "ORDERGATE_WEBHOOK_TIMEOUT_SECONDS": "20",
    "ORDERGATE_WEBHOOK_LEASE_SECONDS": "60",
    "ORDERGATE_SHUTDOWN_GRACE_SECONDS": "1",
}
IMPORTED = 200  # orders: about 40 chunks of 1 KiB, so the worker is stopped part of the way


@asynccontextmanager
async def opened(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url, pool_size=2)
    try:
        yield db
    finally:
        await db.dispose()


async def post(client: httpx.AsyncClient, key: Key, path: str, body: Any) -> Any:
    r = await client.post(path, json=body, headers=key.headers)
    assert r.status_code in (200, 201, 202), r.text
    return r.json()


async def deliveries(db: Database) -> list[Any]:
    async with db.read() as conn:
        return list(await conn.execute(sa.select(webhook_deliveries)))


def given_back(rows: list[Any]) -> bool:
    """Pending, unleased and due now, with no attempt counted."""
    now = dt.datetime.now(dt.UTC)
    return bool(rows) and all(
        r.status == "pending"
        and r.lease_token is None
        and r.lease_until is None
        and r.attempts == 0
        and r.next_attempt_at <= now
        for r in rows
    )


async def delivered_elsewhere(db: Database, database_url: str, ids: set[str]) -> None:
    """Another dispatcher (in this process) sends the given-back deliveries at once."""
    with Receiver(SECRET) as receiver:
        async with db.write() as conn:  # the old receiver only hangs
            await conn.execute(webhook_endpoints.update().values(url=receiver.url))
        settings = make_settings(
            database_url, webhook_allow_private=True, webhook_poll_seconds=0.05
        )
        dispatcher = Dispatcher(db, settings)
        task = asyncio.create_task(dispatcher.run())
        try:
            await eventually(
                lambda: ids <= {r.webhook_id for r in receiver.succeeded()},
                within=30,  # well inside the 60 s lease the stopped dispatcher held
                what="the given-back deliveries",
            )
        finally:
            dispatcher.stop()
            await task


async def test_sigterm_lets_a_slow_request_finish_and_gives_deliveries_back(
    engine: str, own_database: str, tmp_path: Path
) -> None:
    # SQLite as embedded (one process); PostgreSQL as in production, where uvicorn's
    # supervisor passes SIGTERM on to its worker processes.
    workers = "2" if engine == "postgresql" else "1"
    key = await make_key(own_database)
    with (
        Receiver(SECRET, answer=lambda r: HANG) as receiver,
        started(
            "serve", own_database, tmp_path, env=STOPPING, args=("--workers", workers)
        ) as server,
    ):
        await server.ready()
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            await post(client, key, "/v1/webhooks", {"url": receiver.url, "secret": SECRET})
            await post(client, key, "/v1/orders", order_body("EARLY-1", items=2))
            await eventually(lambda: receiver.requests, what="the server's dispatcher's attempt")

            # A client that sends its order slowly: half now, the rest after SIGTERM.
            data = orjson.dumps(order_body("SLOW-1", items=4))
            sent_half = asyncio.Event()
            go_on = asyncio.Event()

            async def slowly() -> AsyncIterator[bytes]:
                yield data[: len(data) // 2]
                sent_half.set()
                await go_on.wait()
                yield data[len(data) // 2 :]

            headers = {
                **key.headers,
                "Content-Type": "application/json",
                "Content-Length": str(len(data)),
            }
            slow = asyncio.create_task(client.post("/v1/orders", content=slowly(), headers=headers))
            await asyncio.wait_for(sent_half.wait(), 30)
            await asyncio.sleep(0.3)  # the request has reached a worker process
            server.signal(signal.SIGTERM)
            stopped_at = time.monotonic()
            await asyncio.sleep(0.5)  # the server is shutting down; the request still arrives
            go_on.set()
            r = await asyncio.wait_for(slow, 60)
            assert r.status_code == 201, r.text
            assert [i["sku"] for i in r.json()["items"]] == [f"SLOW-1-SKU-{i}" for i in range(4)]

            # A lone uvicorn server re-raises the signal once it has shut down cleanly; its
            # supervisor (several workers) exits 0.
            expected = 0 if workers == "2" else -signal.SIGTERM
            assert server.exited_within(15) == expected, server.output
            assert time.monotonic() - stopped_at < 8, server.output
            assert server.output.count("Application shutdown complete") == int(workers)

    async with opened(own_database) as db:
        rows = await deliveries(db)  # EARLY-1's, and SLOW-1's if it was queued in time
        assert given_back(rows), [r._asdict() for r in rows]
        await delivered_elsewhere(db, own_database, {str(r.id) for r in rows})


async def test_sigterm_to_a_worker_gives_back_its_delivery_and_its_import(
    own_postgres: str, tmp_path: Path
) -> None:
    # Separate workers are the PostgreSQL deployment (docs/operations.md); the same code
    # stops the jobs inside `serve` on SQLite, in the test above.
    own_database = own_postgres
    key = await make_key(own_database)
    importer = await make_key(own_database)  # another organisation: no webhooks for its orders
    body = b"".join(orjson.dumps(order_body(f"IMP-{i}", items=2)) + b"\n" for i in range(IMPORTED))
    # The import is spooled in small chunks by an API in this process (no background jobs).
    app = create_app(
        make_settings(own_database, import_chunk_bytes=1024, webhook_allow_private=True)
    )
    with Receiver(SECRET, answer=lambda r: HANG) as receiver:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
                await post(client, key, "/v1/webhooks", {"url": receiver.url, "secret": SECRET})
                await post(client, key, "/v1/orders", order_body("HOOKED-1", items=1))
                r = await client.post(
                    "/v1/imports",
                    content=body,
                    headers={**importer.headers, "Content-Type": "application/x-ndjson"},
                )
                assert r.status_code == 202, r.text

        env = {**STOPPING, "ORDERGATE_IMPORT_PROCESSES": "1"}  # with a validation process
        async with opened(own_database) as db:
            with started("worker", own_database, tmp_path, env=env) as worker:
                await worker.ready()
                await eventually(lambda: receiver.requests, what="the worker's attempt")
                await eventually(lambda: _under_way(db), what="the import under way")
                worker.signal(signal.SIGTERM, group=True)
                stopped_at = time.monotonic()
                assert worker.exited_within(15) == 0, worker.output
                assert time.monotonic() - stopped_at < 8, worker.output
            assert "Traceback" not in worker.output, worker.output

            rows = await deliveries(db)
            assert len(rows) == 1
            assert given_back(rows), [r._asdict() for r in rows]
            job = await _import_row(db)
            assert job.status == "running"
            assert job.lease_token is None, "the import was given back"
            assert 0 < job.next_chunk < job.chunks

            # Another dispatcher delivers; another runner resumes where the worker stopped.
            await delivered_elsewhere(db, own_database, {str(rows[0].id)})
            await _resume_import(db, own_database)
            job = await _import_row(db)
            counts = (job.status, job.created, job.invalid, job.duplicates)
            assert counts == ("completed", IMPORTED, 0, 0)
            async with db.read() as conn:
                stored = await conn.scalar(
                    sa.select(sa.func.count()).where(orders.c.order_ref.like("IMP-%"))
                )
            assert stored == IMPORTED


async def _import_row(db: Database) -> Any:
    async with db.read() as conn:
        return (await conn.execute(sa.select(imports))).one()


async def _under_way(db: Database) -> bool:
    return bool((await _import_row(db)).next_chunk > 0)


async def _resume_import(db: Database, database_url: str) -> None:
    runner = ImportRunner(db, make_settings(database_url, import_processes=0))
    task = asyncio.create_task(runner.run())
    try:
        deadline = time.monotonic() + 30
        while (await _import_row(db)).status != "completed":
            assert time.monotonic() < deadline, "the import was not resumed"
            await asyncio.sleep(0.05)
    finally:
        runner.stop()
        await task
