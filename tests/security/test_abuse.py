"""Abuse limits: slow bodies time out (408), deep JSON and huge parameters are 400s, body
sizes are capped per route (413), and a burst from many connections cannot pass the key's
rate limit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI

from ordergate.app import create_app
from tests.conftest import Tenant, make_settings, make_tenant
from tests.factories import full_order


@pytest.fixture
async def slow_app(database_url: str) -> AsyncIterator[FastAPI]:
    settings = make_settings(database_url, body_timeout_seconds=0.6, body_idle_timeout_seconds=0.3)
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


def _client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def _trickle(data: bytes, pieces: int, pause: float) -> AsyncIterator[bytes]:
    step = max(1, len(data) // pieces)
    for i in range(0, len(data), step):
        yield data[i : i + step]
        await asyncio.sleep(pause)


# (path, headers besides the key's, the 408 body's check)
ROUTES: list[tuple[str, str, dict[str, str], Any]] = [
    ("POST", "/v1/orders", {}, lambda b: b["code"] == "request_timeout"),
    ("POST", "/v1/orders/batch", {}, lambda b: b["code"] == "request_timeout"),
    ("POST", "/dropday/api/v1/orders", {}, lambda b: b == {"message": "Request Timeout"}),
    (
        "PUT",
        "/parcellab/v4/track/orders/",
        {},
        lambda b: b["errors"][0]["code"] == "request_timeout",
    ),
    (
        "POST",
        "/pitneybowes/api/v1/orders",
        {},
        lambda b: b["errors"][0]["errorCode"] == "REQUEST_TIMEOUT",
    ),
    (
        "POST",
        "/reevoo/v4/customer_orders",
        {},
        lambda b: b == {"status": 408, "message": "Request timeout"},
    ),
]


@pytest.mark.parametrize(("method", "path", "extra", "check"), ROUTES)
async def test_a_body_that_pauses_too_long_is_408(
    slow_app: FastAPI, method: str, path: str, extra: dict[str, str], check: Any
) -> None:
    tenant = await make_tenant(slow_app)
    headers = {**tenant.headers, "Content-Type": "application/json", **extra}
    async with _client(slow_app) as client:
        r = await client.request(
            method, path, content=_trickle(orjson.dumps(full_order()), 3, 0.5), headers=headers
        )
    assert r.status_code == 408, r.text
    assert check(r.json()), r.text


async def test_a_body_that_trickles_past_the_total_is_408(slow_app: FastAPI) -> None:
    tenant = await make_tenant(slow_app)
    headers = {**tenant.headers, "Content-Type": "application/json"}
    body = orjson.dumps(full_order())
    async with _client(slow_app) as client:
        # every pause is within the idle limit (0.3 s); the whole takes longer than 0.6 s
        r = await client.post("/v1/orders", content=_trickle(body, 8, 0.15), headers=headers)
        assert r.status_code == 408, r.text
        # a body that arrives in time is fine
        ok = await client.post("/v1/orders", content=_trickle(body, 2, 0.05), headers=headers)
        assert ok.status_code == 201, ok.text


async def test_an_import_may_take_long_but_not_pause_long(database_url: str) -> None:
    # Pauses far inside the idle limit (a busy machine only stretches them) and a stall far
    # beyond it; the whole trickle outlasts the 0.6 s total that other bodies get.
    settings = make_settings(database_url, body_timeout_seconds=0.6, body_idle_timeout_seconds=3)
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        tenant = await make_tenant(application)
        headers = {**tenant.headers, "Content-Type": "application/x-ndjson"}
        lines = b"".join(orjson.dumps(full_order()) + b"\n" for _ in range(8))
        async with _client(application) as client:
            slow = await client.post(
                "/v1/imports", content=_trickle(lines, 8, 0.15), headers=headers
            )
            assert slow.status_code == 202, slow.text  # 1.2 s or more: imports have no total
            stalled = await client.post(
                "/v1/imports", content=_trickle(lines, 2, 3.5), headers=headers
            )
            assert stalled.status_code == 408, stalled.text


async def test_deep_json_is_a_400(client: httpx.AsyncClient, tenant: Tenant) -> None:
    deep = orjson.dumps(full_order())[:-1] + b',"metadata":{"a":' + b"[" * 300 + b"]" * 300 + b"}}"
    r = await client.post(
        "/v1/orders", content=deep, headers={**tenant.headers, "Content-Type": "application/json"}
    )
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "malformed_json"


@pytest.mark.parametrize(
    "query",
    ["limit=1000000000000", "limit=-1", "limit=abc", "cursor=%%%", "cursor=" + "A" * 600],
)
async def test_huge_limits_and_malformed_cursors_are_400(
    client: httpx.AsyncClient, tenant: Tenant, query: str
) -> None:
    r = await client.get(f"/v1/orders?{query}", headers=tenant.headers)
    assert r.status_code == 400, r.text
    events = await client.get(
        f"/v1/events?{query.replace('cursor', 'after')}", headers=tenant.headers
    )
    assert events.status_code == 400, events.text


@pytest.mark.parametrize(
    ("path", "limit"),
    [
        ("/v1/orders", 1024 * 1024),
        ("/v1/orders/batch", 10 * 1024 * 1024),
        ("/dropday/api/v1/orders", 1024 * 1024),
        ("/parcellab/v4/track/orders/", 1024 * 1024),
        ("/pitneybowes/api/v1/orders", 1024 * 1024),
    ],
)
async def test_bodies_over_the_route_limit_are_413(
    client: httpx.AsyncClient, tenant: Tenant, path: str, limit: int
) -> None:
    headers = {**tenant.headers, "Content-Type": "application/json"}
    method = "PUT" if "parcellab" in path else "POST"
    r = await client.request(method, path, content=b" " * (limit + 1), headers=headers)
    assert r.status_code == 413, r.text
    under = await client.request(method, path, content=b" " * (1024 * 1024 + 1), headers=headers)
    assert (under.status_code == 413) == (limit == 1024 * 1024)


async def test_a_burst_from_many_connections_keeps_to_the_rate_limit(database_url: str) -> None:
    application = create_app(make_settings(database_url, rate_limit="20/10 minutes"))
    async with application.router.lifespan_context(application):
        tenant = await make_tenant(application)
        clients = [_client(application) for _ in range(10)]
        try:
            answers = await asyncio.gather(
                *(
                    clients[i % 10].get("/v1/orders?limit=1", headers=tenant.headers)
                    for i in range(60)
                )
            )
        finally:
            for c in clients:
                await c.aclose()
    statuses = [r.status_code for r in answers]
    assert statuses.count(200) == 20
    assert statuses.count(429) == 40
    assert all("Retry-After" in r.headers for r in answers if r.status_code == 429)
