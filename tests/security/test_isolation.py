"""Tenant isolation on every route: another organisation's ids, sent with a key of one's
own, find nothing (404, or the vendor's refusal) and change nothing. The test walks the
OpenAPI document, so a new route with an id in its path must be added here."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from fastapi import FastAPI

from ordergate.dialects.pitneybowes import ids
from tests.conftest import Tenant, make_tenant
from tests.factories import full_order

# Routes whose path parameter names the caller's own thing, not another's: a PUT by
# order_ref creates the caller's own order with that reference.
OWN_NAMESPACE = {("put", "/v1/orders/by-ref/{order_ref}")}

BODIES: dict[tuple[str, str], Any] = {
    ("post", "/v1/orders/{order_id}/fulfillments"): {},
    ("post", "/v1/orders/{order_id}/cancel"): {"reason": "other"},
    ("patch", "/v1/orders/{order_id}"): {"channel": "taken"},
    ("patch", "/v1/webhooks/{endpoint_id}"): {"enabled": False},
    ("patch", "/pitneybowes/api/v1/orders/{order_id}"): {"orderMessage": {"message": "x"}},
}


async def _a_tenants_things(client: httpx.AsyncClient, a: Tenant) -> dict[str, str]:
    order = full_order()
    created = await client.post("/v1/orders", json=order, headers=a.headers)
    assert created.status_code == 201, created.text
    hook = await client.post(
        "/v1/webhooks", json={"url": "https://hooks.example.com/in"}, headers=a.headers
    )
    assert hook.status_code == 201, hook.text
    started = await client.post(
        "/v1/imports",
        content=b'{"order_ref": "imp-1", "items": [{"sku": "S"}]}\n',
        headers={**a.headers, "Content-Type": "application/x-ndjson"},
    )
    assert started.status_code == 202, started.text
    return {
        "order_id": created.json()["id"],
        "order_ref": order["order_ref"],
        "number": str(created.json()["number"]),
        "pb_id": ids.order_id(a.org.number, created.json()["number"]),
        "endpoint_id": hook.json()["id"],
        "delivery_id": str(uuid.uuid4()),
        "import_id": started.json()["id"],
        "submission_id": created.headers["Submission-Id"],
        "trkref": a.org.trkref,
        "secret": order["customer"]["email"],  # in no request, only in the stored order
    }


def _fill(path: str, things: dict[str, str]) -> str:
    values = {
        "{order_id}": things["pb_id"] if path.startswith("/pitneybowes/") else things["order_id"],
        "{order_ref}": things["order_ref"],
        "{reference}": things["number"],
        "{endpoint_id}": things["endpoint_id"],
        "{delivery_id}": things["delivery_id"],
        "{import_id}": things["import_id"],
        "{submission_id}": things["submission_id"],
        "{trkref}": things["trkref"],
    }
    for name, value in values.items():
        path = path.replace(name, value)
    assert "{" not in path, path
    return path


async def test_no_route_reaches_another_tenants_data(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    things = await _a_tenants_things(client, tenant)
    before = (await client.get(f"/v1/orders/{things['order_id']}", headers=tenant.headers)).json()
    other = await make_tenant(app)  # no orders of its own: any number it finds is another's
    doc = (await client.get("/openapi.json")).json()
    checked = []
    for path, item in doc["paths"].items():
        if "{" not in path:
            continue
        for method in item:
            if (method, path) in OWN_NAMESPACE:
                continue
            url = _fill(path, things)
            body = BODIES.get((method, path))
            if body is None and path.startswith("/reevoo/"):
                body = {"trkref": things["trkref"], "order_ref": "X", "order_date": "01-01-2025",
                        "customer": {"email": "a@b.co"}, "order_items": [{"sku": "S"}]}  # fmt: skip
            r = await client.request(
                method,
                url,
                json=body if body is not None and method != "delete" else None,
                headers=other.headers,
            )
            assert r.status_code in (400, 403, 404), (method, url, r.status_code, r.text)
            assert things["secret"] not in r.text, (method, url)
            checked.append((method, path))
    assert len(checked) >= 20, checked

    # nothing of the first tenant changed, and lists show the other tenant nothing of it
    after = (await client.get(f"/v1/orders/{things['order_id']}", headers=tenant.headers)).json()
    assert after == before
    hook = await client.get(f"/v1/webhooks/{things['endpoint_id']}", headers=tenant.headers)
    assert (hook.status_code, hook.json()["enabled"]) == (200, True)
    for url in (
        "/v1/orders",
        "/v1/events",
        "/v1/webhooks",
        "/dropday/api/v1/orders?include_test=1",
        "/parcellab/v4/track/orders/",
    ):
        r = await client.get(url, headers=other.headers)
        assert r.status_code == 200, (url, r.text)
        assert things["order_id"] not in r.text, url
        assert things["secret"] not in r.text, url
