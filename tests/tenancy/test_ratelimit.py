"""Per-key rate limits: 429 with Retry-After and RateLimit-* headers, recovery after
Retry-After, per key, and shared by processes through Redis."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket

import httpx
import pytest
from fastapi import FastAPI

from ordergate.app import create_app
from tests.conftest import Tenant, add_key, make_settings, make_tenant

SETUP_ATTEMPTS = 5


def _redis_available() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


async def _statuses(app: FastAPI, headers: dict[str, str], n: int) -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        return [await c.get("/v1/orders", headers=headers) for _ in range(n)]


async def test_a_key_over_its_limit_gets_429_until_retry_after(database_url: str) -> None:
    app = create_app(make_settings(database_url, rate_limit="3/2 seconds"))
    async with app.router.lifespan_context(app):
        # A sliding window counter lets a request through when a window boundary falls
        # between the requests (the previous window's count starts to weigh less): then try
        # again with a fresh key, a bounded number of times.
        for _ in range(SETUP_ATTEMPTS):
            tenant = await make_tenant(app)
            responses = await _statuses(app, tenant.headers, 4)
            if [r.status_code for r in responses] == [200, 200, 200, 429]:
                break
        assert [r.status_code for r in responses] == [200, 200, 200, 429]
        limited = responses[-1]
        assert limited.json()["code"] == "rate_limited"
        assert limited.headers["ratelimit-limit"] == "3"
        assert limited.headers["ratelimit-remaining"] == "0"
        wait = int(limited.headers["retry-after"])
        assert 1 <= wait <= 4
        assert limited.headers["ratelimit-reset"] == str(wait)

        # another key of the same organisation has its own bucket
        other = await add_key(app, tenant)
        assert (await _statuses(app, {"Authorization": f"Bearer {other}"}, 1))[0].status_code == 200

        await asyncio.sleep(wait)
        assert (await _statuses(app, tenant.headers, 1))[0].status_code == 200


async def test_rate_limits_can_be_switched_off(database_url: str) -> None:
    app = create_app(make_settings(database_url, rate_limit="off"))
    async with app.router.lifespan_context(app):
        tenant = await make_tenant(app)
        assert {r.status_code for r in await _statuses(app, tenant.headers, 20)} == {200}


async def test_buckets_are_shared_by_processes_through_redis(database_url: str) -> None:
    if not _redis_available():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("Redis on 127.0.0.1:6379 is required under CI")
        pytest.skip("Redis on 127.0.0.1:6379 unavailable; shared-bucket test skipped")
    url = f"redis://127.0.0.1:6379/{secrets.randbelow(8) + 1}"
    apps = [
        create_app(make_settings(database_url, rate_limit="4/10 seconds", redis_url=url))
        for _ in range(2)
    ]
    async with apps[0].router.lifespan_context(apps[0]), apps[1].router.lifespan_context(apps[1]):
        for _ in range(SETUP_ATTEMPTS):  # a window boundary in between: try a fresh key
            tenant: Tenant = await make_tenant(apps[0])
            first = await _statuses(apps[0], tenant.headers, 2)
            second = await _statuses(apps[1], tenant.headers, 3)
            statuses = [r.status_code for r in first + second]
            if statuses == [200, 200, 200, 200, 429]:
                break
        assert statuses == [200, 200, 200, 200, 429]


async def test_every_limit_of_a_list_applies(database_url: str) -> None:
    app = create_app(make_settings(database_url, rate_limit="100/second;3/minute"))
    async with app.router.lifespan_context(app):
        for _ in range(SETUP_ATTEMPTS):  # a window boundary in between: try a fresh key
            tenant = await make_tenant(app)
            responses = await _statuses(app, tenant.headers, 4)
            if [r.status_code for r in responses] == [200, 200, 200, 429]:
                break
        assert [r.status_code for r in responses] == [200, 200, 200, 429]
        assert responses[-1].headers["ratelimit-limit"] == "3"


async def test_an_unreachable_redis_lets_requests_through(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(
        make_settings(database_url, rate_limit="1/minute", redis_url="redis://127.0.0.1:1/0")
    )
    async with app.router.lifespan_context(app):
        tenant = await make_tenant(app)
        responses = await _statuses(app, tenant.headers, 3)
        assert {r.status_code for r in responses} == {200}
    assert "rate-limit store unreachable" in caplog.text
