"""Scale-out: two ``ordergate serve`` and two ``ordergate worker`` processes on one PostgreSQL.

- The same ``order_ref`` sent at once through both servers (POST and PUT by ref) makes one
  order: one request creates it, the others get it back.
- Every event reaches a local webhook receiver exactly once, whichever worker sends it.
- A key revoked with ``ordergate key revoke`` stops working on both servers within a second.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from ordergate.db import Database
from ordergate.tenancy.tables import api_keys
from tests.events.receiver import Receiver
from tests.events.test_dispatch import SECRET
from tests.system.processes import eventually, feed, make_key, order_body, started

pytestmark = pytest.mark.slow

CONTESTED = 12  # order_refs, each sent 6 times at once (3 per server)
PLAIN = 24  # orders with refs of their own


async def test_two_servers_and_two_workers_on_one_postgres(
    own_postgres: str, tmp_path: Path
) -> None:
    key = await make_key(own_postgres)
    victim = await make_key(own_postgres)  # the key revoked at the end
    serve_env = {"ORDERGATE_RUN_DISPATCHER": "false", "ORDERGATE_LOG_LEVEL": "warning"}
    with (
        Receiver(SECRET) as receiver,
        started("serve", own_postgres, tmp_path, name="serve-a", env=serve_env) as a,
        started("serve", own_postgres, tmp_path, name="serve-b", env=serve_env) as b,
        started("worker", own_postgres, tmp_path, name="worker-1") as w1,
        started("worker", own_postgres, tmp_path, name="worker-2") as w2,
    ):
        await asyncio.gather(a.ready(), b.ready(), w1.ready(), w2.ready())
        async with httpx.AsyncClient(timeout=20) as client:
            r = await client.post(
                f"{a.url}/v1/webhooks",
                json={"url": receiver.url, "secret": SECRET},
                headers=key.headers,
            )
            assert r.status_code == 201, r.text

            # --- one order per order_ref, whichever process takes each request
            async def send(base: str, method: str, ref: str) -> httpx.Response:
                body = order_body(ref, items=3)
                if method == "POST":
                    return await client.post(f"{base}/v1/orders", json=body, headers=key.headers)
                return await client.put(
                    f"{base}/v1/orders/by-ref/{ref}", json=body, headers=key.headers
                )

            contested = [f"SAME-{i}" for i in range(CONTESTED)]
            calls = [
                send(base, method, ref)
                for ref in contested
                for base in (a.url, b.url)
                for method in ("POST", "PUT", "POST")
            ]
            calls += [send((a.url, b.url)[i % 2], "POST", f"OWN-{i}") for i in range(PLAIN)]
            answers = await asyncio.gather(*calls)
            for ref_index, ref in enumerate(contested):
                mine = answers[ref_index * 6 : ref_index * 6 + 6]
                assert sorted(r.status_code for r in mine) == [200] * 5 + [201], [
                    (r.status_code, r.text) for r in mine
                ]
                assert len({r.json()["id"] for r in mine}) == 1, ref
            assert all(r.status_code == 201 for r in answers[CONTESTED * 6 :])
            for base in (a.url, b.url):
                r = await client.get(
                    f"{base}/v1/orders", params={"limit": 200}, headers=key.headers
                )
                refs = sorted(o["order_ref"] for o in r.json()["data"])
                assert refs == sorted(contested + [f"OWN-{i}" for i in range(PLAIN)])

            # --- every event delivered exactly once
            # (on PostgreSQL the feed shows an event once older transactions have ended)
            async def whole_feed() -> list[dict[str, Any]]:
                events = await feed(client, a.url, key)
                return events if len(events) >= CONTESTED + PLAIN else []

            events = await eventually(whole_feed, what="the feed")
            assert len(events) == CONTESTED + PLAIN  # one order.created per order
            await eventually(
                lambda: len(receiver.succeeded()) >= len(events), what="every delivery"
            )
            await asyncio.sleep(1)  # room for a duplicate to arrive
            got = receiver.requests
            assert sorted(r.event["id"] for r in got) == sorted(e["id"] for e in events)
            assert len({r.webhook_id for r in got}) == len(got)
            assert all(r.verified for r in got)
            both = f"{w1.output}\n{w2.output}"
            assert both.count(" attempt 1 to endpoint ") == len(events), both

            # --- a revoked key stops on both servers within a second. Both servers are
            # asked with it all along, so their caches are fresh when the revocation commits.
            seen: list[tuple[float, str, int]] = []
            done = asyncio.Event()

            async def keep_asking(base: str) -> None:
                deadline = time.monotonic() + 60
                while not done.is_set() and time.monotonic() < deadline:
                    r = await client.get(f"{base}/v1/orders?limit=1", headers=victim.headers)
                    seen.append((time.time(), base, r.status_code))
                    await asyncio.sleep(0.01)

            askers = [asyncio.create_task(keep_asking(base)) for base in (a.url, b.url)]
            await eventually(lambda: len(seen) >= 4, what="the key in use on both servers")
            revoke = await asyncio.create_subprocess_exec(
                sys.executable,
                *("-m", "ordergate", "key", "revoke", victim.key_id),
                env={**os.environ, "ORDERGATE_DATABASE_URL": own_postgres},
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            out, err = await asyncio.wait_for(revoke.communicate(), 60)
            assert revoke.returncode == 0, err
            assert out.decode().strip() == f"revoked {victim.key_id}"
            await asyncio.sleep(1.2)
            done.set()
            await asyncio.gather(*askers)
            revoked_at = (await revoked_time(own_postgres, victim.key_id)).timestamp()
            for base in (a.url, b.url):
                answers = [(t, status) for t, where, status in seen if where == base]
                assert {status for _, status in answers} == {200, 401}, answers
                first_refusal = min(t for t, status in answers if status == 401)
                assert first_refusal - revoked_at < 1.0, (base, first_refusal - revoked_at)
                # refused for good from then on
                assert all(status == 401 for t, status in answers if t >= first_refusal)
                r = await client.get(f"{base}/v1/orders", headers=key.headers)
                assert r.status_code == 200  # the other key still works
            for task in askers:
                assert task.done()


async def revoked_time(database_url: str, key_id: str) -> dt.datetime:
    """When the revocation was written (just before it committed)."""
    db = Database(database_url, pool_size=1)
    try:
        async with db.read() as conn:
            stamp = await conn.scalar(
                sa.select(api_keys.c.revoked_at).where(api_keys.c.id == key_id)
            )
    finally:
        await db.dispose()
    assert isinstance(stamp, dt.datetime)
    return stamp
