"""GET /v1/orders: keyset pagination, orderings, every filter, and 400 for bad parameters."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests import factories
from tests.conftest import Tenant


async def _post(client: httpx.AsyncClient, tenant: Tenant, **fields: object) -> dict:
    r = await client.post("/v1/orders", json=factories.order(**fields), headers=tenant.headers)
    assert r.status_code == 201, r.text
    return r.json()


async def _walk(client: httpx.AsyncClient, tenant: Tenant, query: str) -> list[str]:
    ids: list[str] = []
    url = f"/v1/orders?{query}"
    cursor = None
    while True:
        r = await client.get(url + (f"&cursor={cursor}" if cursor else ""), headers=tenant.headers)
        assert r.status_code == 200, r.text
        page = r.json()
        ids += [o["id"] for o in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return ids


async def test_newest_first_by_default_with_limit_and_cursor(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = [(await _post(client, tenant))["id"] for _ in range(5)]
    r = await client.get("/v1/orders?limit=2", headers=tenant.headers)
    page = r.json()
    assert [o["id"] for o in page["data"]] == created[::-1][:2]
    assert page["next_cursor"]
    assert await _walk(client, tenant, "limit=2") == created[::-1]
    assert await _walk(client, tenant, "limit=2&order_by=created_at") == created
    last = await client.get("/v1/orders?limit=5", headers=tenant.headers)
    assert last.json()["next_cursor"] is None


async def test_order_by_updated_at(client: httpx.AsyncClient, tenant: Tenant) -> None:
    a, b, c = [(await _post(client, tenant))["id"] for _ in range(3)]
    await client.patch(f"/v1/orders/{a}", json={"tags": ["touched"]}, headers=tenant.headers)
    assert await _walk(client, tenant, "limit=2&order_by=updated_at") == [b, c, a]
    assert await _walk(client, tenant, "limit=1&order_by=-updated_at") == [a, c, b]


@pytest.mark.parametrize("order_by", ["created_at", "-created_at"])
async def test_paging_while_orders_arrive_neither_skips_nor_repeats(
    client: httpx.AsyncClient, tenant: Tenant, order_by: str
) -> None:
    original = [(await _post(client, tenant))["id"] for _ in range(7)]
    seen: list[str] = []
    arrived: list[str] = []
    cursor = None
    while True:
        q = f"/v1/orders?limit=2&order_by={order_by}" + (f"&cursor={cursor}" if cursor else "")
        page = (await client.get(q, headers=tenant.headers)).json()
        seen += [o["id"] for o in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        if len(arrived) < 8:  # new orders land between pages (bounded: oldest-first must end)
            news = await asyncio.gather(_post(client, tenant), _post(client, tenant))
            arrived += [n["id"] for n in news]
    assert len(seen) == len(set(seen)), "an order was repeated"
    assert set(original) <= set(seen), "an order was skipped"
    if order_by == "created_at":
        # oldest first: everything that arrived is after the cursor and is seen too
        assert set(seen) == set(original) | set(arrived)
    else:
        assert seen == original[::-1]


async def test_filters(client: httpx.AsyncClient, tenant: Tenant) -> None:
    plain = await _post(client, tenant)
    rich = await _post(
        client,
        tenant,
        customer={"email": "Ada@Example.com"},
        tags=["vip", "gift"],
        items=[factories.item(sku="BOOK-1"), factories.item(sku="PEN-9", line_id="x")],
        test=True,
    )
    fulfilled = await _post(client, tenant, fulfilled_at="2024-01-01")

    async def ids(query: str) -> set[str]:
        r = await client.get(f"/v1/orders?{query}", headers=tenant.headers)
        assert r.status_code == 200, r.text
        return {o["id"] for o in r.json()["data"]}

    assert await ids("email=ada@example.com") == {rich["id"]}
    assert await ids("email=ADA@EXAMPLE.COM") == {rich["id"]}
    assert await ids("sku=PEN-9") == {rich["id"]}
    assert await ids("sku=SKU-1") == {plain["id"], fulfilled["id"]}
    assert await ids("tag=gift") == {rich["id"]}
    assert await ids(f"order_ref={plain['order_ref']}") == {plain["id"]}
    assert await ids("test=true") == {rich["id"]}
    assert await ids("test=false") == {plain["id"], fulfilled["id"]}
    assert await ids("status=fulfilled") == {fulfilled["id"]}
    assert await ids("status=unfulfilled,fulfilled") == {plain["id"], rich["id"], fulfilled["id"]}
    assert await ids("status=unfulfilled&status=cancelled") == {plain["id"], rich["id"]}
    assert await ids("sku=PEN-9&tag=vip&test=true") == {rich["id"]}
    assert await ids("sku=PEN-9&tag=nope") == set()


async def test_time_filters(client: httpx.AsyncClient, tenant: Tenant) -> None:
    first = await _post(client, tenant)
    await asyncio.sleep(0.01)
    second = await _post(client, tenant)
    at = second["created_at"]

    async def ids(query: str) -> set[str]:
        r = await client.get(f"/v1/orders?{query}", headers=tenant.headers)
        assert r.status_code == 200, r.text
        return {o["id"] for o in r.json()["data"]}

    from urllib.parse import quote

    assert await ids(f"created_before={quote(at)}") == {first["id"]}
    assert await ids(f"created_after={quote(first['created_at'])}") == {second["id"]}
    await client.patch(f"/v1/orders/{first['id']}", json={"tags": ["x"]}, headers=tenant.headers)
    assert await ids(f"updated_after={quote(at)}") == {first["id"]}
    assert await ids(f"updated_before={quote(at)}") == set()
    # a naive time is read as UTC
    naive = at.removesuffix("Z")
    assert await ids(f"created_before={quote(naive)}") == {first["id"]}


@pytest.mark.parametrize(
    ("query", "pointer"),
    [
        ("limit=0", "/query/limit"),
        ("limit=201", "/query/limit"),
        ("limit=abc", "/query/limit"),
        ("order_by=price", "/query/order_by"),
        ("cursor=!!!", "/query/cursor"),
        ("cursor=WyJ4Il0", "/query/cursor"),
        ("status=shipped", "/query/status"),
        ("created_after=yesterday", "/query/created_after"),
        ("test=maybe", "/query/test"),
    ],
)
async def test_bad_parameters_are_400_naming_the_parameter(
    client: httpx.AsyncClient, tenant: Tenant, query: str, pointer: str
) -> None:
    r = await client.get(f"/v1/orders?{query}", headers=tenant.headers)
    assert r.status_code == 400, r.text
    problem = r.json()
    assert problem["code"] == "invalid_parameter"
    assert [e["pointer"] for e in problem["errors"]] == [pointer]


async def test_a_cursor_is_bound_to_its_ordering(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for _ in range(3):
        await _post(client, tenant)
    cursor = (await client.get("/v1/orders?limit=1", headers=tenant.headers)).json()["next_cursor"]
    r = await client.get(f"/v1/orders?order_by=updated_at&cursor={cursor}", headers=tenant.headers)
    assert r.status_code == 400
    assert r.json()["errors"][0]["code"] == "invalid_cursor"


async def test_oldest_first_paging_waits_for_late_commits_on_postgresql(
    postgres_url: str,
) -> None:
    """A transaction that stamped an earlier created_at commits after a newer order was read:
    without the settle window the forward cursor passes it; with it, it is seen in order.
    (SQLite writes one transaction at a time, so there commit order is time order.)"""
    import datetime as dt

    from ordergate.app import create_app
    from ordergate.orders import service
    from ordergate.orders.model import validate_order
    from ordergate.orders.store import ListFilter
    from ordergate.tenancy.auth import Principal
    from tests.conftest import make_settings, make_tenant

    app = create_app(make_settings(postgres_url))

    async def walk(principal: Principal, settle: float) -> list[str]:
        async with app.state.db.read() as conn:
            page = await service.list_orders(
                conn,
                principal,
                ListFilter(),
                descending=False,
                limit=50,
                settle=dt.timedelta(seconds=settle),
            )
        return [o.order_ref for o in page]

    async with app.router.lifespan_context(app):
        tenant = await make_tenant(app)
        principal = tenant.principal
        async with app.state.db.write_engine.connect() as late:
            await late.begin()
            a = validate_order(factories.order(ref="A"))
            await service.create(late, principal, a)
            async with app.state.db.write() as other:
                b = validate_order(factories.order(ref="B"))
                await service.create(other, principal, b)
            assert await walk(principal, 0) == ["B"]  # a cursor taken here is past A forever
            assert await walk(principal, 0.5) == []  # within the window neither shows yet
            await late.commit()
        await asyncio.sleep(0.55)
        assert await walk(principal, 0.5) == ["A", "B"]
