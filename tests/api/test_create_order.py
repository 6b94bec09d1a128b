"""POST /v1/orders: create, safe retry, conflict, dry run, and the HTTP edge cases."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from fastapi import FastAPI

from ordergate.app import create_app
from tests import factories
from tests.conftest import Tenant, make_settings


async def test_create_returns_201_with_the_order_and_location(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = factories.full_order()
    r = await client.post("/v1/orders", json=body, headers=tenant.headers)
    assert r.status_code == 201, r.text
    order = r.json()
    assert r.headers["location"] == f"/v1/orders/{order['id']}"
    assert r.headers["etag"] == '"1"'
    assert uuid.UUID(order["id"]).version == 7
    assert order["number"] == 1
    assert order["status"] == "unfulfilled"
    assert order["version"] == 1
    assert order["submitted_via"] == "api"
    assert order["fulfillments"] == []
    assert order["cancellation"] is None
    # amounts come back at the currency's minor unit ("0" GBP → "0.00"); the rest as sent
    expected = {**body, "totals": {**body["totals"], "tax": "0.00", "discount": "0.00"}}
    for key, value in expected.items():
        assert order[key] == value, key


async def test_numbers_count_from_one_per_organisation(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    numbers = []
    for t in (tenant, tenant, other_tenant, tenant):
        r = await client.post("/v1/orders", json=factories.order(), headers=t.headers)
        numbers.append(r.json()["number"])
    assert numbers == [1, 2, 1, 3]


async def test_resubmitting_same_ref_and_content_returns_existing_order(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = factories.full_order()
    first = await client.post("/v1/orders", json=body, headers=tenant.headers)
    again = await client.post("/v1/orders", json=body, headers=tenant.headers)
    assert again.status_code == 200
    assert again.json() == first.json()


async def test_equivalent_content_counts_as_the_same(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ref = factories.order_ref()
    body = factories.order(ref=ref, items=[{"sku": "A", "unit_price": "5.5"}])
    first = await client.post("/v1/orders", json=body, headers=tenant.headers)
    # the same amount written as a JSON number, the same country as alpha-3
    same = factories.order(ref=ref, items=[{"sku": "A", "unit_price": 5.50, "line_id": "1"}])
    again = await client.post("/v1/orders", json=same, headers=tenant.headers)
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"]


async def test_same_ref_with_different_content_is_409_naming_id_and_pointers(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = factories.full_order()
    first = (await client.post("/v1/orders", json=body, headers=tenant.headers)).json()
    changed = {**body, "customer": {**body["customer"], "email": "other@example.com"}}
    changed["items"] = [{**body["items"][0], "quantity": 3}]
    r = await client.post("/v1/orders", json=changed, headers=tenant.headers)
    assert r.status_code == 409
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["code"] == "order_ref_conflict"
    assert problem["existing_id"] == first["id"]
    assert problem["differences"] == ["/customer/email", "/items/0/quantity"]


async def test_dry_run_validates_without_storing(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = factories.order()
    r = await client.post("/v1/orders?dry_run=true", json=body, headers=tenant.headers)
    assert r.status_code == 200
    assert r.json() == {"valid": True}
    r = await client.get(f"/v1/orders/by-ref/{body['order_ref']}", headers=tenant.headers)
    assert r.status_code == 404
    bad = await client.post("/v1/orders?dry_run=true", json={"items": []}, headers=tenant.headers)
    assert bad.status_code == 422
    assert {e["pointer"] for e in bad.json()["errors"]} == {"/order_ref", "/items"}


async def test_malformed_json_is_400(client: httpx.AsyncClient, tenant: Tenant) -> None:
    headers = {**tenant.headers, "content-type": "application/json"}
    for body in (b'{"order_ref": ', b"", b"\xff\xfe", b"{'a': 1}"):
        r = await client.post("/v1/orders", content=body, headers=headers)
        assert r.status_code == 400, body
        assert r.json()["code"] == "malformed_json"


async def test_non_object_json_is_422(client: httpx.AsyncClient, tenant: Tenant) -> None:
    r = await client.post("/v1/orders", json=[1, 2], headers=tenant.headers)
    assert r.status_code == 422
    assert r.json()["errors"][0]["pointer"] == ""


async def test_wrong_content_type_is_415(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for ctype in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = dict(tenant.headers)
        if ctype:
            headers["content-type"] = ctype
        r = await client.post("/v1/orders", content=b"{}", headers=headers)
        assert r.status_code == 415, ctype
        assert r.json()["code"] == "unsupported_media_type"


async def test_json_with_charset_is_accepted(client: httpx.AsyncClient, tenant: Tenant) -> None:
    import json

    headers = {**tenant.headers, "content-type": "application/json; charset=utf-8"}
    r = await client.post("/v1/orders", content=json.dumps(factories.order()), headers=headers)
    assert r.status_code == 201


async def test_body_over_one_mebibyte_is_413(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = factories.order(metadata={"pad": "x" * 1000})
    body["tags"] = ["t" * 255] * 100
    big = b'{"order_ref": "' + b"x" * (1024 * 1024) + b'"}'
    r = await client.post(
        "/v1/orders", content=big, headers={**tenant.headers, "content-type": "application/json"}
    )
    assert r.status_code == 413
    assert r.json()["code"] == "payload_too_large"

    async def chunks():  # no Content-Length: counted as it streams
        for _ in range(20):
            yield b" " * 65536

    r = await client.post(
        "/v1/orders",
        content=chunks(),
        headers={**tenant.headers, "content-type": "application/json"},
    )
    assert r.status_code == 413


async def test_invalid_order_stores_nothing(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = factories.order(customer={"email": "not-an-email"})
    r = await client.post("/v1/orders", json=body, headers=tenant.headers)
    assert r.status_code == 422
    r = await client.get("/v1/orders", headers=tenant.headers)
    assert r.json()["data"] == []


async def test_concurrent_posts_of_one_new_ref_make_exactly_one_order(
    database_url: str, tenant: Tenant
) -> None:
    # Two app instances = two connection pools, as two server processes would have.
    apps = [create_app(make_settings(database_url)) for _ in range(2)]
    ref = factories.order_ref()
    same = factories.order(ref=ref)
    different = factories.order(ref=ref, items=[factories.item(sku="OTHER")])

    async def run(app: FastAPI, body: dict[str, object]) -> int:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            r = await c.post("/v1/orders", json=body, headers=tenant.headers)
            return r.status_code

    async with apps[0].router.lifespan_context(apps[0]), apps[1].router.lifespan_context(apps[1]):
        statuses = await asyncio.gather(
            *(run(apps[i % 2], same) for i in range(8)),
            *(run(apps[i % 2], different) for i in range(2)),
        )
        transport = httpx.ASGITransport(app=apps[0])
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            page = (await c.get(f"/v1/orders?order_ref={ref}", headers=tenant.headers)).json()
    assert len(page["data"]) == 1
    winner_is_same = page["data"][0]["items"][0]["sku"] == same["items"][0]["sku"]
    assert statuses.count(201) == 1
    if winner_is_same:
        assert sorted(statuses[:8]) == [200] * 7 + [201] or sorted(statuses[:8]) == [200] * 8
        assert statuses[8:] == [409, 409]
    else:
        assert set(statuses[:8]) == {409}
