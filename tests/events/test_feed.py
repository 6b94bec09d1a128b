"""The transactional outbox and GET /v1/events."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import sqlalchemy as sa

from ordergate.app import create_app
from ordergate.orders import service
from ordergate.orders.model import validate_order
from tests import factories
from tests.conftest import Tenant, make_settings, make_tenant


async def _feed(
    client: httpx.AsyncClient, tenant: Tenant, after: str | None = None, limit: int = 100
) -> dict:
    url = f"/v1/events?limit={limit}" + (f"&after={after}" if after else "")
    r = await client.get(url, headers=tenant.headers)
    assert r.status_code == 200, r.text
    return r.json()


async def _all(client: httpx.AsyncClient, tenant: Tenant, limit: int = 100) -> list[dict]:
    seen: list[dict] = []
    cursor = None
    while True:
        page = await _feed(client, tenant, cursor, limit)
        seen += page["data"]
        if not page["data"]:
            return seen
        cursor = page["next_cursor"]


async def test_every_change_writes_its_event_with_increasing_seq(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = factories.order(items=[factories.item(quantity=2, line_id="a")])
    order = (await client.post("/v1/orders", json=body, headers=tenant.headers)).json()
    url = f"/v1/orders/{order['id']}"
    await client.post(
        f"{url}/fulfillments",
        json={"items": [{"line_id": "a", "quantity": 1}]},
        headers=tenant.headers,
    )
    await client.patch(url, json={"tags": ["x"]}, headers=tenant.headers)
    last = (
        await client.post(f"{url}/cancel", json={"reason": "customer"}, headers=tenant.headers)
    ).json()

    events = await _all(client, tenant, limit=1)  # one at a time, through the cursor
    assert [(e["type"], e["seq"]) for e in events] == [
        ("order.created", 1),
        ("order.fulfilled", 2),
        ("order.updated", 3),
        ("order.cancelled", 4),
    ]
    assert {e["order_id"] for e in events} == {order["id"]}
    assert events[0]["data"]["status"] == "unfulfilled"
    assert events[-1]["data"] == last
    assert len({e["id"] for e in events}) == 4


async def test_a_poller_keeps_its_place_when_nothing_is_new(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await client.post("/v1/orders", json=factories.order(), headers=tenant.headers)
    first = await _feed(client, tenant)
    idle = await _feed(client, tenant, first["next_cursor"])
    assert idle == {"data": [], "next_cursor": first["next_cursor"]}
    await client.post("/v1/orders", json=factories.order(), headers=tenant.headers)
    new = await _feed(client, tenant, first["next_cursor"])
    assert [e["type"] for e in new["data"]] == ["order.created"]


async def test_rejected_changes_leave_no_event(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = factories.order()
    order = (await client.post("/v1/orders", json=body, headers=tenant.headers)).json()
    url = f"/v1/orders/{order['id']}"
    await client.post("/v1/orders", json=body, headers=tenant.headers)  # safe retry: no change
    await client.post("/v1/orders", json={**body, "tags": ["x"]}, headers=tenant.headers)  # 409
    await client.patch(url, json={"customer": {"email": "bad"}}, headers=tenant.headers)  # 422
    await client.patch(url, json={"tags": []}, headers=tenant.headers)  # unchanged
    await client.post(f"{url}/cancel", json={"reason": "other"}, headers=tenant.headers)
    await client.post(f"{url}/cancel", json={"reason": "other"}, headers=tenant.headers)  # 409
    events = await _all(client, tenant)
    assert [e["type"] for e in events] == ["order.created", "order.cancelled"]


async def test_the_feed_is_private_and_rejects_foreign_cursors(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    await client.post("/v1/orders", json=factories.order(), headers=tenant.headers)
    assert (await _feed(client, other_tenant))["data"] == []
    r = await client.get("/v1/events?after=!!", headers=tenant.headers)
    assert r.status_code == 400
    assert r.json()["errors"][0]["pointer"] == "/query/after"


async def test_a_late_commit_is_not_passed_by_the_cursor(postgres_url: str) -> None:
    """An event whose transaction commits after a later one is shown before it, never behind
    a cursor already handed out."""
    app = create_app(make_settings(postgres_url))
    async with app.router.lifespan_context(app):
        tenant = await make_tenant(app)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            async with app.state.db.write_engine.connect() as late:
                await late.begin()
                a = validate_order(factories.order(ref="A"))
                await service.create(late, tenant.principal, a)
                async with app.state.db.write() as other:
                    b = validate_order(factories.order(ref="B"))
                    await service.create(other, tenant.principal, b)
                page = await _feed(c, tenant)
                assert page["data"] == []  # B waits for the older transaction to finish
                await late.commit()
            events = await _all(c, tenant)
            assert [e["data"]["order_ref"] for e in events] == ["A", "B"]


async def test_a_poller_sees_every_event_once_while_writers_run(postgres_url: str) -> None:
    apps = [create_app(make_settings(postgres_url)) for _ in range(2)]
    async with apps[0].router.lifespan_context(apps[0]), apps[1].router.lifespan_context(apps[1]):
        tenant = await make_tenant(apps[0])
        clients = [
            httpx.AsyncClient(transport=httpx.ASGITransport(app=a), base_url="http://t")
            for a in apps
        ]
        done = asyncio.Event()
        seen: list[int] = []

        async def writer(c: httpx.AsyncClient, n: int) -> None:
            for _ in range(n):
                r = await c.post("/v1/orders", json=factories.order(), headers=tenant.headers)
                assert r.status_code == 201

        async def poller() -> None:
            cursor = None
            while True:
                finished = done.is_set()
                page = await _feed(clients[0], tenant, cursor, limit=7)
                seen.extend(e["id"] for e in page["data"])
                cursor = page["next_cursor"]
                if finished and not page["data"]:
                    return
                await asyncio.sleep(0)

        poll = asyncio.create_task(poller())
        await asyncio.gather(*(writer(clients[i % 2], 15) for i in range(6)))
        done.set()
        await poll
        for c in clients:
            await c.aclose()
    assert len(seen) == 90
    assert len(set(seen)) == 90


async def test_an_orders_events_keep_seq_order_when_the_older_transaction_commits_last(
    postgres_url: str,
) -> None:
    """Transaction B gets its id first, then waits while A changes the order (seq 2) and
    commits; B's change (seq 3) has the older transaction id but still comes after A's."""
    app = create_app(make_settings(postgres_url))
    async with app.router.lifespan_context(app):
        tenant = await make_tenant(app)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            body = factories.order(ref="SEQ")
            order = (await c.post("/v1/orders", json=body, headers=tenant.headers)).json()
            async with app.state.db.write_engine.connect() as older:
                await older.begin()
                older_txid = await older.scalar(sa.text("SELECT pg_current_xact_id()::text"))
                r = await c.patch(
                    f"/v1/orders/{order['id']}",
                    json={"metadata": {"by": "A"}},
                    headers=tenant.headers,
                )
                assert r.status_code == 200
                await service.patch(
                    older,
                    tenant.principal,
                    uuid.UUID(order["id"]),
                    {"metadata": {"by": "B"}},
                )
                await older.commit()
            events = await _all(c, tenant)
    assert [(e["seq"], e["type"]) for e in events] == [
        (1, "order.created"),
        (2, "order.updated"),
        (3, "order.updated"),
    ]
    assert [e["data"]["metadata"] for e in events[1:]] == [{"by": "A"}, {"by": "B"}]
    assert int(older_txid) > 0


async def test_a_replacement_that_records_a_fulfilment_is_order_fulfilled(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = factories.order()
    ref = body["order_ref"]
    assert (
        await client.put(f"/v1/orders/by-ref/{ref}", json=body, headers=tenant.headers)
    ).is_success
    done = {**body, "fulfilled_at": "2014-12-24T00:00:00Z"}
    r = await client.put(f"/v1/orders/by-ref/{ref}", json=done, headers=tenant.headers)
    assert r.json()["status"] == "fulfilled"
    renamed = {**done, "channel": "shop"}
    r = await client.put(f"/v1/orders/by-ref/{ref}", json=renamed, headers=tenant.headers)
    events = (await _feed(client, tenant))["data"]
    assert [(e["type"], e["seq"]) for e in events] == [
        ("order.created", 1),
        ("order.fulfilled", 2),
        ("order.updated", 3),
    ]
