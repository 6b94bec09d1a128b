"""Idempotency-Key: replay, reuse with another request, in flight, per organisation,
expiry and purge, abandoned claims."""

from __future__ import annotations

import asyncio
import datetime as dt

import httpx
import orjson
from fastapi import FastAPI

from ordergate.app import create_app
from ordergate.intake import idempotency
from ordergate.intake.tables import idempotency_keys
from tests import factories
from tests.conftest import Tenant, make_settings


def _headers(tenant: Tenant, key: str) -> dict[str, str]:
    return {**tenant.headers, "Idempotency-Key": key, "content-type": "application/json"}


async def _count(client: httpx.AsyncClient, tenant: Tenant, ref: str) -> int:
    r = await client.get(f"/v1/orders?order_ref={ref}", headers=tenant.headers)
    return len(r.json()["data"])


async def test_a_retry_with_the_same_key_replays_the_first_response_byte_for_byte(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = orjson.dumps(factories.order())
    first = await client.post("/v1/orders", content=body, headers=_headers(tenant, "k-1"))
    assert first.status_code == 201
    assert "idempotent-replayed" not in first.headers
    again = await client.post("/v1/orders", content=body, headers=_headers(tenant, "k-1"))
    assert again.status_code == 201  # the first response, not a fresh "200 existing"
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    for name in ("location", "etag", "submission-id", "content-type"):
        assert again.headers[name] == first.headers[name]


async def test_the_same_key_with_a_different_body_is_422(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    h = _headers(tenant, "k-2")
    await client.post("/v1/orders", content=orjson.dumps(factories.order()), headers=h)
    r = await client.post("/v1/orders", content=orjson.dumps(factories.order()), headers=h)
    assert r.status_code == 422
    assert r.json()["errors"][0]["code"] == "idempotency_key_reused"


async def test_concurrent_requests_with_one_key_make_one_order(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    # Whether a racer finds the key still in flight (409) or already answered (a replay)
    # depends on timing; every round must make one order, and within a few rounds some racer
    # must have met the key in flight.
    seen_in_flight = False
    for attempt in range(5):
        body = factories.order()
        raw = orjson.dumps(body)
        h = _headers(tenant, f"k-race-{attempt}")
        responses = await asyncio.gather(
            *(client.post("/v1/orders", content=raw, headers=h) for _ in range(6))
        )
        statuses = [r.status_code for r in responses]
        fresh = [
            r for r in responses if r.status_code == 201 and "idempotent-replayed" not in r.headers
        ]
        assert len(fresh) == 1, statuses
        assert set(statuses) <= {201, 409}
        assert await _count(client, tenant, body["order_ref"]) == 1
        conflicts = [r for r in responses if r.status_code == 409]
        assert all(r.json()["code"] == "idempotency_key_in_flight" for r in conflicts)
        if conflicts:
            seen_in_flight = True
            break
    assert seen_in_flight


async def test_keys_belong_to_an_organisation(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    raw = orjson.dumps(factories.order())
    a = await client.post("/v1/orders", content=raw, headers=_headers(tenant, "shared"))
    b = await client.post("/v1/orders", content=raw, headers=_headers(other_tenant, "shared"))
    assert a.status_code == b.status_code == 201
    assert "idempotent-replayed" not in b.headers
    assert a.json()["id"] != b.json()["id"]


async def test_errors_are_replayed_too_and_patch_is_covered(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    bad = orjson.dumps(factories.order(currency="NOPE"))
    first = await client.post("/v1/orders", content=bad, headers=_headers(tenant, "k-bad"))
    again = await client.post("/v1/orders", content=bad, headers=_headers(tenant, "k-bad"))
    assert first.status_code == again.status_code == 422
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"

    created = (
        await client.post("/v1/orders", json=factories.order(), headers=tenant.headers)
    ).json()
    patch = orjson.dumps({"tags": ["once"]})
    h = {**_headers(tenant, "k-patch"), "content-type": "application/merge-patch+json"}
    one = await client.patch(f"/v1/orders/{created['id']}", content=patch, headers=h)
    two = await client.patch(f"/v1/orders/{created['id']}", content=patch, headers=h)
    assert one.json()["version"] == two.json()["version"] == 2
    assert two.headers["idempotent-replayed"] == "true"


async def test_an_overlong_key_is_400(client: httpx.AsyncClient, tenant: Tenant) -> None:
    r = await client.post("/v1/orders", content=b"{}", headers=_headers(tenant, "k" * 256))
    assert r.status_code == 400


async def test_expired_keys_are_purged_and_free_again(database_url: str, tenant: Tenant) -> None:
    app = create_app(make_settings(database_url, idempotency_retention_seconds=0.2))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            h = _headers(tenant, "k-expiring")
            await c.post("/v1/orders", content=orjson.dumps(factories.order()), headers=h)
            await asyncio.sleep(0.3)
            # expired: the key is free for a different request even before the purge
            r = await c.post("/v1/orders", content=orjson.dumps(factories.order()), headers=h)
            assert r.status_code == 201
            assert "idempotent-replayed" not in r.headers
            await asyncio.sleep(0.3)
            assert await idempotency.purge_expired(app.state.db) >= 1


async def test_an_abandoned_claim_is_taken_over(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    raw = orjson.dumps(factories.order())
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    async with app.state.db.write() as conn:  # a process died after claiming the key
        await conn.execute(
            idempotency_keys.insert().values(
                organisation_id=tenant.org.id,
                key="k-dead",
                fingerprint="x",
                state="in_flight",
                created_at=long_ago,
                expires_at=long_ago + dt.timedelta(days=1),
            )
        )
    r = await client.post("/v1/orders", content=raw, headers=_headers(tenant, "k-dead"))
    assert r.status_code == 201


async def test_another_api_key_cannot_replay_a_response(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    from tests.conftest import add_key

    raw = orjson.dumps(factories.order())
    first = await client.post("/v1/orders", content=raw, headers=_headers(tenant, "k-scope"))
    assert first.status_code == 201
    reader = await add_key(app, tenant, scopes=["orders:read"])
    headers = {
        "Authorization": f"Bearer {reader}",
        "Idempotency-Key": "k-scope",
        "content-type": "application/json",
    }
    r = await client.post("/v1/orders", content=raw, headers=headers)
    assert r.status_code == 422
    assert "idempotent-replayed" not in r.headers


async def test_a_429_is_not_stored_under_the_key(database_url: str) -> None:
    from tests.conftest import make_tenant

    app = create_app(make_settings(database_url, rate_limit="2/2 seconds"))
    async with app.router.lifespan_context(app):
        tenant = await make_tenant(app)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            # Exhaust the limit, then send the keyed request. A window boundary between them
            # (sliding window counter) can let it through: then retry with a fresh key and
            # order, a bounded number of times.
            for attempt in range(5):
                for _ in range(2):
                    await c.get("/v1/orders", headers=tenant.headers)
                key = f"k-429-{attempt}"
                raw = orjson.dumps(factories.order())
                limited = await c.post("/v1/orders", content=raw, headers=_headers(tenant, key))
                if limited.status_code == 429:
                    break
            assert limited.status_code == 429
            await asyncio.sleep(int(limited.headers["retry-after"]))
            r = await c.post("/v1/orders", content=raw, headers=_headers(tenant, key))
            assert r.status_code == 201
            assert "idempotent-replayed" not in r.headers
