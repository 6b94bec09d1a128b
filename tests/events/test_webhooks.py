"""Webhook endpoint management: secrets, URL policy, event types, scopes and tenancy."""

from __future__ import annotations

import base64

import httpx
import pytest
from fastapi import FastAPI

from ordergate.app import create_app
from tests.conftest import Tenant, add_key, make_settings, make_tenant


async def test_create_shows_the_secret_once_then_list_get_patch_delete(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = {"url": "https://hooks.example.com/orders", "event_types": ["order.created"]}
    r = await client.post("/v1/webhooks", json=body, headers=tenant.headers)
    assert r.status_code == 201, r.text
    created = r.json()
    assert r.headers["location"] == f"/v1/webhooks/{created['id']}"
    secret = created["secret"]
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert created["enabled"] is True

    got = (await client.get(f"/v1/webhooks/{created['id']}", headers=tenant.headers)).json()
    assert "secret" not in got
    assert got["event_types"] == ["order.created"]
    listed = (await client.get("/v1/webhooks", headers=tenant.headers)).json()["data"]
    assert [e["id"] for e in listed] == [created["id"]]
    assert "secret" not in listed[0]

    r = await client.patch(
        f"/v1/webhooks/{created['id']}",
        json={"enabled": False, "event_types": None},
        headers=tenant.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["enabled"] is False
    assert r.json()["event_types"] is None  # every type

    r = await client.delete(f"/v1/webhooks/{created['id']}", headers=tenant.headers)
    assert r.status_code == 204
    r = await client.get(f"/v1/webhooks/{created['id']}", headers=tenant.headers)
    assert r.status_code == 404


async def test_a_given_secret_is_kept(client: httpx.AsyncClient, tenant: Tenant) -> None:
    secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
    r = await client.post(
        "/v1/webhooks",
        json={"url": "https://h.example.com", "secret": secret},
        headers=tenant.headers,
    )
    assert r.json()["secret"] == secret


@pytest.mark.parametrize(
    ("body", "pointer", "code"),
    [
        ({"url": "ftp://h.example.com"}, "/url", "invalid_url"),
        ({"url": "not a url"}, "/url", "invalid_url"),
        ({"url": "https://user:pw@h.example.com/in"}, "/url", "invalid_url"),
        ({"url": "https://h.example.com:http/in"}, "/url", "invalid_url"),
        ({"url": f"https://{'a' * 64}.example.com/"}, "/url", "invalid_url"),
        ({"url": "http://127.0.0.1:8080/x"}, "/url", "private_target"),
        ({"url": "http://10.1.2.3/x"}, "/url", "private_target"),
        ({"url": "http://169.254.169.254/latest"}, "/url", "private_target"),
        ({"url": "http://[::1]/x"}, "/url", "private_target"),
        ({"url": "http://localhost/x"}, "/url", "private_target"),
        (
            {"url": "https://h.example.com", "event_types": ["order.deleted"]},
            "/event_types/0",
            "unknown_event_type",
        ),
        ({"url": "https://h.example.com", "secret": "plain"}, "/secret", "invalid_secret"),
        ({"url": "https://h.example.com", "secret": "whsec_c2hvcnQ="}, "/secret", "invalid_secret"),
        ({"url": "https://h.example.com", "colour": "red"}, "/colour", "unknown_field"),
    ],
)
async def test_invalid_endpoints_are_422_with_pointers(
    client: httpx.AsyncClient, tenant: Tenant, body: dict, pointer: str, code: str
) -> None:
    r = await client.post("/v1/webhooks", json=body, headers=tenant.headers)
    assert r.status_code == 422, r.text
    assert [(e["pointer"], e["code"]) for e in r.json()["errors"]] == [(pointer, code)]
    assert (await client.get("/v1/webhooks", headers=tenant.headers)).json()["data"] == []


async def test_private_targets_can_be_allowed(database_url: str) -> None:
    app = create_app(make_settings(database_url, webhook_allow_private=True))
    async with app.router.lifespan_context(app):
        tenant = await make_tenant(app)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            r = await c.post(
                "/v1/webhooks", json={"url": "http://127.0.0.1:9999/hook"}, headers=tenant.headers
            )
            assert r.status_code == 201


async def test_webhooks_need_their_scope_and_stay_in_their_organisation(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    orders_only = await add_key(app, tenant, scopes=["orders:read", "orders:write"])
    r = await client.get("/v1/webhooks", headers={"Authorization": f"Bearer {orders_only}"})
    assert r.status_code == 403
    created = (
        await client.post(
            "/v1/webhooks", json={"url": "https://h.example.com"}, headers=tenant.headers
        )
    ).json()
    for method in ("GET", "PATCH", "DELETE"):
        r = await client.request(
            method,
            f"/v1/webhooks/{created['id']}",
            headers=other_tenant.headers,
            json={"enabled": False} if method == "PATCH" else None,
        )
        assert r.status_code == 404, method
