"""Console sign-in, the session cookie, sign-out and CSRF (httpx, both engines)."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from ordergate.tenancy import service as tenancy
from tests.conftest import Tenant, add_key
from tests.console.helpers import form_token, page_token, sign_in


async def test_a_page_without_a_session_sends_the_browser_to_sign_in(
    client: httpx.AsyncClient,
) -> None:
    r = await client.get("/console/orders?status=cancelled")
    assert r.status_code == 303
    assert r.headers["location"] == "/console/sign-in?next=%2Fconsole%2Forders%3Fstatus%3Dcancelled"


async def test_signing_in_sets_an_httponly_samesite_cookie_without_the_key(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    r = await sign_in(client, tenant.token)
    assert r.status_code == 303
    assert r.headers["location"] == "/console"
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("ordergate_console="))
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Path=/console" in cookie
    assert "Secure" not in cookie  # plain http (see docs/console.md)
    assert tenant.key.secret not in cookie
    assert (await client.get("/console")).status_code == 200


async def test_over_https_the_cookie_is_secure(app: FastAPI, tenant: Tenant) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://test") as client:
        r = await sign_in(client, tenant.token)
    assert "Secure" in r.headers["set-cookie"]


async def test_a_wrong_key_is_refused(client: httpx.AsyncClient, tenant: Tenant) -> None:
    r = await sign_in(client, tenant.key.key_id + ".not-the-secret")
    assert r.status_code == 401
    assert "not valid" in r.text
    assert "ordergate_console=" not in r.headers.get("set-cookie", "")
    assert (await client.get("/console")).status_code == 303


async def test_a_key_without_orders_read_cannot_sign_in(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    token = await add_key(app, tenant, scopes=["webhooks:manage"])
    r = await sign_in(client, token)
    assert r.status_code == 403
    assert "orders:read" in r.text


async def test_sign_in_without_its_form_token_is_refused(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    r = await client.post("/console/sign-in", data={"api_key": tenant.token, "csrf_token": "x"})
    assert r.status_code == 403
    assert (await client.get("/console")).status_code == 303


async def test_signing_in_returns_to_a_console_page_only(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    page = await client.get("/console/sign-in?next=//evil.example/")
    data = {"api_key": tenant.token, "csrf_token": form_token(page.text)}
    r = await client.post("/console/sign-in", data={**data, "next": "https://evil.example/"})
    assert r.headers["location"] == "/console"


async def test_signing_out_ends_the_session(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await sign_in(client, tenant.token)
    token = await page_token(client, "/console")
    r = await client.post("/console/sign-out", data={"csrf_token": token})
    assert r.status_code == 303
    assert r.headers["location"] == "/console/sign-in"
    assert (await client.get("/console")).status_code == 303


async def test_sign_out_without_the_csrf_token_is_refused(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await sign_in(client, tenant.token)
    r = await client.post("/console/sign-out", data={"csrf_token": "forged"})
    assert r.status_code == 403
    assert (await client.get("/console")).status_code == 200


async def test_a_revoked_key_stops_working_at_once(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await sign_in(client, tenant.token)
    assert (await client.get("/console/orders")).status_code == 200
    async with app.state.db.write() as conn:
        await tenancy.revoke_key(conn, tenant.key.key_id)
    assert (await client.get("/console/orders")).status_code == 303


async def test_a_tampered_cookie_is_no_session(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await sign_in(client, tenant.token)
    value = client.cookies["ordergate_console"]
    payload, _, mac = value.rpartition(".")
    for forged in (
        f"{payload}.{'A' * len(mac)}",
        value.replace(tenant.key.key_id, "ogk_00000000000000000000"),
        "v1.garbage",
    ):
        client.cookies.clear()
        client.cookies.set("ordergate_console", forged, path="/console")
        assert (await client.get("/console")).status_code == 303, forged


async def test_another_sites_form_cannot_post_without_the_token(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await sign_in(client, tenant.token)
    r = await client.post(
        "/console/orders/01900000-0000-7000-8000-000000000000/cancel",
        data={"reason": "fraud"},
    )
    assert r.status_code == 403
    assert "CSRF" in r.text
