"""Crash safety: ``ordergate serve`` killed with SIGKILL in the middle of concurrent intake.

The promise: an order whose request got a 2xx is never lost, and nothing half-written is ever
visible. Six connections send single creates, PUTs by ref and batches (orders of several
items) until the server is killed outright; after a restart on the same database every
acknowledged order is there with all its items, every stored order is whole (its items,
history and ``order.created`` event), and the feed shows each acknowledged order's event.
"""

from __future__ import annotations

import asyncio
import itertools
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from ordergate.db import Database
from ordergate.events.tables import events
from ordergate.orders.tables import order_history, order_items, orders
from tests.system.processes import Key, feed, make_key, order_body, started

pytestmark = pytest.mark.slow

CONNECTIONS = 6
ACKNOWLEDGED_BEFORE_KILL = 120  # orders; the kill comes while requests are still in flight


class Load:
    """Concurrent intake; records what the server acknowledged."""

    def __init__(self, base: str, key: Key) -> None:
        self.base = base
        self.key = key
        self.acknowledged: dict[str, tuple[str, int]] = {}  # ref -> (id, items)
        self.unanswered = 0
        self.stop = asyncio.Event()
        self._refs = itertools.count()

    def _ref(self, worker: int) -> str:
        return f"CRASH-{worker}-{next(self._refs)}"

    async def run(self, worker: int, deadline: float) -> None:
        limits = httpx.Limits(max_connections=1)
        async with httpx.AsyncClient(base_url=self.base, timeout=10, limits=limits) as client:
            for n in itertools.count():
                if self.stop.is_set() or time.monotonic() > deadline:
                    return
                try:
                    await self._send(client, worker, n % 3)
                except httpx.TransportError:
                    self.unanswered += 1  # killed while this request was in flight
                    return

    async def _send(self, client: httpx.AsyncClient, worker: int, kind: int) -> None:
        headers = self.key.headers
        if kind == 0:
            body = order_body(self._ref(worker), items=3)
            r = await client.post("/v1/orders", json=body, headers=headers)
            if r.status_code == 201:
                self.acknowledged[body["order_ref"]] = (r.json()["id"], 3)
        elif kind == 1:
            body = order_body(self._ref(worker), items=5)
            r = await client.put(
                f"/v1/orders/by-ref/{body['order_ref']}", json=body, headers=headers
            )
            if r.status_code == 201:
                self.acknowledged[body["order_ref"]] = (r.json()["id"], 5)
        else:
            bodies = [order_body(self._ref(worker), items=2 + i) for i in range(4)]
            r = await client.post(
                "/v1/orders/batch", json={"orders": bodies, "mode": "create"}, headers=headers
            )
            if r.status_code == 200:
                for body, result in zip(bodies, r.json()["results"], strict=True):
                    assert result["outcome"] == "created", result
                    self.acknowledged[body["order_ref"]] = (result["id"], len(body["items"]))
        assert r.status_code < 300, r.text  # nothing the client sent here is wrong


async def test_every_acknowledged_order_survives_sigkill_whole(
    own_database: str, tmp_path: Path
) -> None:
    key = await make_key(own_database)
    env = {"ORDERGATE_RUN_DISPATCHER": "false", "ORDERGATE_LOG_LEVEL": "warning"}
    with started("serve", own_database, tmp_path, name="serve-1", env=env) as server:
        await server.ready()
        load = Load(server.url, key)
        deadline = time.monotonic() + 30
        tasks = [asyncio.create_task(load.run(w, deadline)) for w in range(CONNECTIONS)]
        while len(load.acknowledged) < ACKNOWLEDGED_BEFORE_KILL:
            assert time.monotonic() < deadline, "the load made too little progress"
            assert not any(t.done() for t in tasks), [t.exception() for t in tasks if t.done()]
            await asyncio.sleep(0.01)
        server.signal(signal.SIGKILL)
        server.exited_within(30)
        await asyncio.wait_for(asyncio.gather(*tasks), 60)
    assert load.unanswered >= 1, "the kill came between requests, not during them"
    acknowledged = dict(load.acknowledged)

    # Restarted on the same database: every acknowledged order is there, whole.
    with started("serve", own_database, tmp_path, name="serve-2", env=env) as server:
        await server.ready()
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            for ref, (order_id, items) in acknowledged.items():
                r = await client.get(f"/v1/orders/by-ref/{ref}", headers=key.headers)
                assert r.status_code == 200, (ref, r.text)
                got = r.json()
                assert got["id"] == order_id
                assert [i["sku"] for i in got["items"]] == [f"{ref}-SKU-{i}" for i in range(items)]
            created = {
                e["order_id"]
                for e in await feed(client, server.url, key)
                if e["type"] == "order.created"
            }
        assert {order_id for order_id, _ in acknowledged.values()} <= created

    await _assert_nothing_half_written(own_database, key, len(acknowledged))


async def _assert_nothing_half_written(database_url: str, key: Key, acknowledged: int) -> None:
    """Every stored order (acknowledged or caught by the kill after its commit) is whole."""
    db = Database(database_url, pool_size=1)
    try:
        async with db.read() as conn:
            org = key.organisation_id
            stored = {
                r.id: r.doc
                for r in await conn.execute(
                    sa.select(orders.c.id, orders.c.doc).where(orders.c.organisation_id == org)
                )
            }
            lines = Counter(
                r.order_id
                for r in await conn.execute(
                    sa.select(order_items.c.order_id).where(order_items.c.organisation_id == org)
                )
            )
            history = Counter(
                r.order_id
                for r in await conn.execute(
                    sa.select(order_history.c.order_id).where(
                        order_history.c.organisation_id == org, order_history.c.kind == "created"
                    )
                )
            )
            created = Counter(
                r.order_id
                for r in await conn.execute(
                    sa.select(events.c.order_id).where(
                        events.c.organisation_id == org, events.c.type == "order.created"
                    )
                )
            )
    finally:
        await db.dispose()
    assert len(stored) >= acknowledged
    for order_id, doc in stored.items():
        detail: Any = (order_id, doc["order_ref"])
        assert lines[order_id] == len(doc["items"]), detail
        assert history[order_id] == 1, detail
        assert created[order_id] == 1, detail
    assert set(lines) <= set(stored)
    assert set(created) <= set(stored)
