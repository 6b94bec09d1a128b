"""Fulfilments, cancellation and history through the API."""

from __future__ import annotations

import httpx
import pytest

from tests import factories
from tests.conftest import Tenant


async def _order(client: httpx.AsyncClient, tenant: Tenant, **fields: object) -> dict:
    body = factories.order(
        items=[
            factories.item(sku="A", quantity=2, line_id="a"),
            factories.item(sku="B", line_id="b"),
        ],
        **fields,
    )
    r = await client.post("/v1/orders", json=body, headers=tenant.headers)
    assert r.status_code == 201, r.text
    return r.json()


async def _history(client: httpx.AsyncClient, tenant: Tenant, order_id: str) -> list[dict]:
    r = await client.get(f"/v1/orders/{order_id}/history", headers=tenant.headers)
    assert r.status_code == 200, r.text
    return r.json()["data"]


async def test_full_lifecycle_walk_with_history(client: httpx.AsyncClient, tenant: Tenant) -> None:
    order = await _order(client, tenant)
    oid = order["id"]
    url = f"/v1/orders/{oid}"

    r = await client.post(
        f"{url}/fulfillments",
        json={
            "items": [{"line_id": "a", "quantity": 1}],
            "tracking": {"carrier": "DHL", "number": "JD0001", "url": "https://dhl.example/JD0001"},
        },
        headers=tenant.headers,
    )
    assert r.status_code == 200, r.text
    first = r.json()
    assert first["status"] == "partially_fulfilled"
    assert first["version"] == 2
    assert r.headers["etag"] == '"2"'
    assert first["fulfillments"][0]["items"] == [{"line_id": "a", "quantity": 1}]
    assert first["fulfillments"][0]["tracking"]["carrier"] == "DHL"
    assert first["fulfilled_at"] is None

    r = await client.patch(url, json={"tags": ["rush"]}, headers=tenant.headers)
    assert r.json()["version"] == 3

    r = await client.post(f"{url}/fulfillments", headers=tenant.headers)  # everything left
    done = r.json()
    assert done["status"] == "fulfilled"
    assert done["fulfillments"][1]["items"] == [
        {"line_id": "a", "quantity": 1},
        {"line_id": "b", "quantity": 1},
    ]
    assert done["fulfilled_at"] == done["fulfillments"][1]["created_at"]

    entries = await _history(client, tenant, oid)
    assert [(e["version"], e["kind"]) for e in entries] == [
        (1, "created"),
        (2, "fulfilled"),
        (3, "patched"),
        (4, "fulfilled"),
    ]
    assert all(e["key_id"] == tenant.key.key_id for e in entries)
    assert entries[0]["submitted_via"] == "api"
    assert entries[1]["fulfillment"]["tracking"]["number"] == "JD0001"
    assert entries[1]["status"] == "partially_fulfilled"
    assert entries[2]["changes"] == [{"pointer": "/tags/0", "old": None, "new": "rush"}]
    assert entries[3]["status"] == "fulfilled"
    assert entries[0]["at"] <= entries[1]["at"] <= entries[3]["at"]


async def test_cancel_records_reason_and_note(client: httpx.AsyncClient, tenant: Tenant) -> None:
    order = await _order(client, tenant)
    r = await client.post(
        f"/v1/orders/{order['id']}/cancel",
        json={"reason": "fraud", "note": "card stolen"},
        headers=tenant.headers,
    )
    assert r.status_code == 200
    cancelled = r.json()
    assert cancelled["status"] == "cancelled"
    assert cancelled["cancellation"]["reason"] == "fraud"
    assert cancelled["cancellation"]["note"] == "card stolen"
    assert cancelled["cancellation"]["cancelled_at"] == cancelled["updated_at"]
    entries = await _history(client, tenant, order["id"])
    assert entries[-1]["kind"] == "cancelled"
    assert entries[-1]["cancellation"]["reason"] == "fraud"


async def test_a_partially_fulfilled_order_can_be_cancelled(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    order = await _order(client, tenant)
    url = f"/v1/orders/{order['id']}"
    await client.post(
        f"{url}/fulfillments",
        json={"items": [{"line_id": "b", "quantity": 1}]},
        headers=tenant.headers,
    )
    r = await client.post(f"{url}/cancel", json={"reason": "inventory"}, headers=tenant.headers)
    assert r.json()["status"] == "cancelled"


@pytest.mark.parametrize(
    ("setup", "action", "status", "code"),
    [
        (
            "none",
            {"fulfil": {"items": [{"line_id": "a", "quantity": 3}]}},
            409,
            "invalid_transition",
        ),
        (
            "none",
            {
                "fulfil": {
                    "items": [{"line_id": "a", "quantity": 2}, {"line_id": "a", "quantity": 1}]
                }
            },
            409,
            "invalid_transition",
        ),
        (
            "none",
            {"fulfil": {"items": [{"line_id": "zz", "quantity": 1}]}},
            422,
            "validation_failed",
        ),
        (
            "none",
            {"fulfil": {"items": [{"line_id": "a", "quantity": 0}]}},
            422,
            "validation_failed",
        ),
        ("none", {"fulfil": {"items": []}}, 422, "validation_failed"),
        ("cancelled", {"fulfil": {}}, 409, "invalid_transition"),
        ("fulfilled", {"fulfil": {}}, 409, "invalid_transition"),
        ("fulfilled", {"cancel": {"reason": "customer"}}, 409, "invalid_transition"),
        ("cancelled", {"cancel": {"reason": "customer"}}, 409, "invalid_transition"),
        ("none", {"cancel": {"reason": "bored"}}, 422, "validation_failed"),
        ("none", {"cancel": {}}, 422, "validation_failed"),
    ],
)
async def test_forbidden_changes_leave_order_and_history_unchanged(
    client: httpx.AsyncClient, tenant: Tenant, setup: str, action: dict, status: int, code: str
) -> None:
    order = await _order(client, tenant)
    url = f"/v1/orders/{order['id']}"
    if setup == "cancelled":
        await client.post(f"{url}/cancel", json={"reason": "other"}, headers=tenant.headers)
    elif setup == "fulfilled":
        await client.post(f"{url}/fulfillments", headers=tenant.headers)
    before = (await client.get(url, headers=tenant.headers)).json()
    history_before = await _history(client, tenant, order["id"])

    ((kind, body),) = action.items()
    path = f"{url}/fulfillments" if kind == "fulfil" else f"{url}/cancel"
    r = await client.post(path, json=body, headers=tenant.headers)
    assert r.status_code == status, r.text
    assert r.json()["code"] == code

    assert (await client.get(url, headers=tenant.headers)).json() == before
    assert await _history(client, tenant, order["id"]) == history_before


async def test_unknown_line_pointer_names_the_request_item(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    order = await _order(client, tenant)
    r = await client.post(
        f"/v1/orders/{order['id']}/fulfillments",
        json={"items": [{"line_id": "a", "quantity": 1}, {"line_id": "nope", "quantity": 1}]},
        headers=tenant.headers,
    )
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"pointer": "/items/1/line_id", "code": "unknown_line", "detail": "No line 'nope'"}
    ]


async def test_history_records_replacements_with_old_and_new_values(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = factories.order(customer={"email": "a@example.com"})
    created = (await client.post("/v1/orders", json=body, headers=tenant.headers)).json()
    changed = {**body, "customer": {"email": "b@example.com"}}
    await client.put(f"/v1/orders/by-ref/{body['order_ref']}", json=changed, headers=tenant.headers)
    entries = await _history(client, tenant, created["id"])
    assert [e["kind"] for e in entries] == ["created", "replaced"]
    assert entries[1]["changes"] == [
        {"pointer": "/customer/email", "old": "a@example.com", "new": "b@example.com"}
    ]


async def test_lifecycle_routes_respect_scopes_and_tenants(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    order = await _order(client, tenant)
    url = f"/v1/orders/{order['id']}"
    for path, body in ((f"{url}/fulfillments", {}), (f"{url}/cancel", {"reason": "other"})):
        r = await client.post(path, json=body, headers=other_tenant.headers)
        assert r.status_code == 404
    r = await client.get(f"{url}/history", headers=other_tenant.headers)
    assert r.status_code == 404


async def test_a_bad_cancel_reason_is_invalid_at_its_pointer(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    order = await _order(client, tenant)
    r = await client.post(
        f"/v1/orders/{order['id']}/cancel", json={"reason": "bogus"}, headers=tenant.headers
    )
    assert [(e["pointer"], e["code"]) for e in r.json()["errors"]] == [("/reason", "invalid")]
