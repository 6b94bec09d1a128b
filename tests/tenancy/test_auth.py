"""Credentials: the four accepted forms, 401 for missing/wrong/revoked, 403 for a missing
scope, and tenant isolation (another organisation's order is a 404)."""

from __future__ import annotations

import asyncio
import base64

import httpx
import pytest
from fastapi import FastAPI

from ordergate.app import create_app
from ordergate.tenancy import service as tenancy
from tests import factories
from tests.conftest import Tenant, add_key, make_settings, make_tenant


def _basic(key_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{key_id}:{secret}".encode()).decode()


@pytest.mark.parametrize(
    "form", ["bearer", "basic", "parcellab", "dropday-trkref", "dropday-number"]
)
async def test_every_credential_form_is_accepted(
    client: httpx.AsyncClient, tenant: Tenant, form: str
) -> None:
    key = tenant.key
    headers = {
        "bearer": {"Authorization": f"Bearer {key.token}"},
        "basic": {"Authorization": _basic(key.key_id, key.secret)},
        "parcellab": {"Authorization": f"Parcellab-API-Token {key.token}"},
        "dropday-trkref": {"api-key": key.token, "account-id": tenant.org.trkref},
        "dropday-number": {"api-key": key.token, "account-id": str(tenant.org.number)},
    }[form]
    r = await client.post("/v1/orders", json=factories.order(), headers=headers)
    assert r.status_code == 201, r.text


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer nonsense"},
        {"Authorization": "Bearer ogk_0000000000000000.secret"},
        {"Authorization": "Basic !!!"},
        {"Authorization": "Digest abc"},
        {"api-key": "ogk_x.y"},
    ],
    ids=[
        "none",
        "empty-bearer",
        "no-dot",
        "unknown-key",
        "bad-base64",
        "other-scheme",
        "no-account",
    ],
)
async def test_missing_or_malformed_credentials_are_401(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    r = await client.get("/v1/orders", headers=headers)
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "unauthorized"
    assert "www-authenticate" in r.headers


async def test_wrong_secret_is_401(client: httpx.AsyncClient, tenant: Tenant) -> None:
    r = await client.get(
        "/v1/orders", headers={"Authorization": f"Bearer {tenant.key.key_id}.wrong-secret"}
    )
    assert r.status_code == 401
    r = await client.get(
        "/v1/orders", headers={"Authorization": _basic(tenant.key.key_id, "wrong")}
    )
    assert r.status_code == 401


async def test_dropday_account_id_must_be_the_keys_organisation(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    headers = {"api-key": tenant.token, "account-id": other_tenant.org.trkref}
    r = await client.get("/v1/orders", headers=headers)
    assert r.status_code == 401


async def test_key_without_the_scope_is_403(app: FastAPI, client: httpx.AsyncClient) -> None:
    t = await make_tenant(app, scopes=["orders:read"])
    r = await client.post("/v1/orders", json=factories.order(), headers=t.headers)
    assert r.status_code == 403
    assert r.json()["code"] == "forbidden"
    assert (await client.get("/v1/orders", headers=t.headers)).status_code == 200
    writer = await add_key(app, t, scopes=["orders:write"])
    r = await client.get("/v1/orders", headers={"Authorization": f"Bearer {writer}"})
    assert r.status_code == 403


async def test_revoked_key_is_refused_on_every_process(database_url: str) -> None:
    # auth_cache_seconds bounds how long a process may trust what it read about a key
    apps = [create_app(make_settings(database_url, auth_cache_seconds=0.2)) for _ in range(2)]
    async with apps[0].router.lifespan_context(apps[0]), apps[1].router.lifespan_context(apps[1]):
        t = await make_tenant(apps[0])
        clients = [
            httpx.AsyncClient(transport=httpx.ASGITransport(app=a), base_url="http://t")
            for a in apps
        ]
        for c in clients:
            assert (await c.get("/v1/orders", headers=t.headers)).status_code == 200
        async with apps[0].state.db.write() as conn:
            await tenancy.revoke_key(conn, t.key.key_id)
        await asyncio.sleep(0.25)
        for c in clients:
            assert (await c.get("/v1/orders", headers=t.headers)).status_code == 401
            await c.aclose()


async def test_another_organisations_order_is_404_like_a_missing_one(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    body = factories.order()
    created = (await client.post("/v1/orders", json=body, headers=tenant.headers)).json()
    ref = body["order_ref"]
    h = other_tenant.headers
    for r in (
        await client.get(f"/v1/orders/{created['id']}", headers=h),
        await client.get(f"/v1/orders/by-ref/{ref}", headers=h),
        await client.patch(f"/v1/orders/{created['id']}", json={"tags": ["x"]}, headers=h),
        await client.get("/v1/orders/01a20944-af98-71ed-8136-7ad14ab2684a", headers=h),
    ):
        assert r.status_code == 404, r.text
    listed = (await client.get(f"/v1/orders?order_ref={ref}", headers=h)).json()
    assert listed["data"] == []
    # the same order_ref is free for the other organisation
    r = await client.post("/v1/orders", json=factories.order(ref=ref), headers=h)
    assert r.status_code == 201


async def test_secrets_are_stored_only_as_salted_hashes(app: FastAPI, tenant: Tenant) -> None:
    async with app.state.db.read() as conn:
        stored = await tenancy.load_key(conn, tenant.key.key_id)
    assert stored is not None
    assert tenant.key.secret.encode() not in stored.secret_hash
    assert len(stored.salt) == 16
    assert tenancy.secret_matches(stored, tenant.key.secret)
    assert not tenancy.secret_matches(stored, tenant.key.secret + "x")
