"""GET by id/ref with ETag, PUT by ref (create/replace/unchanged, If-Match), PATCH (merge
patch, validation, immutables, If-Match)."""

from __future__ import annotations

import httpx

from tests import factories
from tests.conftest import Tenant


async def _create(client: httpx.AsyncClient, tenant: Tenant, **fields: object) -> dict:
    r = await client.post("/v1/orders", json=factories.order(**fields), headers=tenant.headers)
    assert r.status_code == 201, r.text
    return r.json()


async def test_get_by_id_and_by_ref_return_the_order_with_etag(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await _create(client, tenant)
    for url in (f"/v1/orders/{created['id']}", f"/v1/orders/by-ref/{created['order_ref']}"):
        r = await client.get(url, headers=tenant.headers)
        assert r.status_code == 200
        assert r.headers["etag"] == '"1"'
        assert r.json() == created


async def test_order_ref_with_slash_and_unicode_is_addressable_by_ref(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await _create(client, tenant, ref="ÉTÉ 2024 #7")
    r = await client.get("/v1/orders/by-ref/%C3%89T%C3%89%202024%20%237", headers=tenant.headers)
    assert r.status_code == 200
    assert r.json()["id"] == created["id"]


async def test_unknown_id_and_ref_are_404_problems(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    for url in (
        "/v1/orders/01a20944-af98-71ed-8136-7ad14ab2684a",
        "/v1/orders/not-a-uuid",
        "/v1/orders/by-ref/nope",
    ):
        r = await client.get(url, headers=tenant.headers)
        assert r.status_code == 404
        assert r.headers["content-type"] == "application/problem+json"


async def test_put_creates_then_replaces_then_reports_unchanged(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ref = factories.order_ref()
    body = factories.order(ref=ref)
    r = await client.put(f"/v1/orders/by-ref/{ref}", json=body, headers=tenant.headers)
    assert r.status_code == 201
    created = r.json()
    assert r.headers["location"] == f"/v1/orders/{created['id']}"

    changed = {**body, "items": [factories.item(sku="NEW", quantity=4)]}
    r = await client.put(f"/v1/orders/by-ref/{ref}", json=changed, headers=tenant.headers)
    assert r.status_code == 200
    updated = r.json()
    assert updated["id"] == created["id"]
    assert updated["number"] == created["number"]
    assert updated["version"] == 2
    assert updated["items"][0]["sku"] == "NEW"
    assert updated["updated_at"] >= created["updated_at"]
    assert r.headers["etag"] == '"2"'

    r = await client.put(f"/v1/orders/by-ref/{ref}", json=changed, headers=tenant.headers)
    assert r.status_code == 200
    assert r.json()["version"] == 2

    # the replaced items are what the sku filter sees
    found = (await client.get("/v1/orders?sku=NEW", headers=tenant.headers)).json()["data"]
    assert [o["id"] for o in found] == [created["id"]]
    assert (await client.get("/v1/orders?sku=SKU-1", headers=tenant.headers)).json()["data"] == []


async def test_put_body_without_order_ref_takes_the_path_one(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = factories.order()
    ref = body.pop("order_ref")
    r = await client.put(f"/v1/orders/by-ref/{ref}", json=body, headers=tenant.headers)
    assert r.status_code == 201
    assert r.json()["order_ref"] == ref


async def test_put_with_a_different_order_ref_in_the_body_is_422(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    r = await client.put(
        "/v1/orders/by-ref/A", json=factories.order(ref="B"), headers=tenant.headers
    )
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {
            "pointer": "/order_ref",
            "code": "mismatch",
            "detail": "Must equal the order_ref in the path",
        }
    ]


async def test_put_with_stale_if_match_is_412_and_changes_nothing(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await _create(client, tenant)
    ref = created["order_ref"]
    body = factories.order(ref=ref, items=[factories.item(sku="V2")])
    stale = {**tenant.headers, "If-Match": '"7"'}
    r = await client.put(f"/v1/orders/by-ref/{ref}", json=body, headers=stale)
    assert r.status_code == 412
    assert r.json()["code"] == "precondition_failed"
    current = (await client.get(f"/v1/orders/{created['id']}", headers=tenant.headers)).json()
    assert current == created

    fresh = {**tenant.headers, "If-Match": '"1"'}
    r = await client.put(f"/v1/orders/by-ref/{ref}", json=body, headers=fresh)
    assert r.status_code == 200
    assert r.json()["version"] == 2


async def test_put_if_match_on_a_missing_order_is_412(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ref = factories.order_ref()
    headers = {**tenant.headers, "If-Match": '"1"'}
    r = await client.put(f"/v1/orders/by-ref/{ref}", json=factories.order(ref=ref), headers=headers)
    assert r.status_code == 412


async def test_put_invalid_body_is_422_and_keeps_the_stored_order(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await _create(client, tenant)
    ref = created["order_ref"]
    bad = factories.order(ref=ref, currency="XYZ")
    r = await client.put(f"/v1/orders/by-ref/{ref}", json=bad, headers=tenant.headers)
    assert r.status_code == 422
    assert r.json()["errors"][0]["pointer"] == "/currency"
    got = (await client.get(f"/v1/orders/{created['id']}", headers=tenant.headers)).json()
    assert got == created


async def test_put_with_fulfilled_at_fulfils_the_order(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await _create(client, tenant)
    ref = created["order_ref"]
    body = factories.order(ref=ref, fulfilled_at="2024-03-01")
    r = await client.put(f"/v1/orders/by-ref/{ref}", json=body, headers=tenant.headers)
    order = r.json()
    assert order["status"] == "fulfilled"
    assert order["fulfilled_at"] == "2024-03-01T00:00:00Z"
    assert order["fulfillments"][0]["items"] == [{"line_id": "1", "quantity": 1}]


async def test_create_with_fulfilled_at_records_a_fulfilled_order(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    order = await _create(client, tenant, fulfilled_at="2024-03-01T10:00:00+01:00")
    assert order["status"] == "fulfilled"
    assert order["fulfillments"][0]["created_at"] == "2024-03-01T09:00:00Z"


async def test_patch_merges_changes_and_bumps_version(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await _create(
        client, tenant, customer={"email": "a@example.com", "first_name": "Ada"}, tags=["a"]
    )
    patch = {
        "customer": {"first_name": "Grace", "last_name": "Hopper"},
        "tags": ["b", "c"],
        "metadata": {"erp_id": "9"},
    }
    r = await client.patch(
        f"/v1/orders/{created['id']}",
        json=patch,
        headers={**tenant.headers, "content-type": "application/merge-patch+json"},
    )
    assert r.status_code == 200, r.text
    order = r.json()
    assert order["customer"]["email"] == "a@example.com"
    assert order["customer"]["first_name"] == "Grace"
    assert order["customer"]["last_name"] == "Hopper"
    assert order["tags"] == ["b", "c"]
    assert order["metadata"] == {"erp_id": "9"}
    assert order["version"] == 2
    assert r.headers["etag"] == '"2"'
    by_tag = (await client.get("/v1/orders?tag=c", headers=tenant.headers)).json()["data"]
    assert [o["id"] for o in by_tag] == [created["id"]]
    assert (await client.get("/v1/orders?tag=a", headers=tenant.headers)).json()["data"] == []


async def test_patch_null_removes_a_field(client: httpx.AsyncClient, tenant: Tenant) -> None:
    created = await _create(client, tenant, customer={"email": "a@example.com"})
    r = await client.patch(
        f"/v1/orders/{created['id']}", json={"customer": {"email": None}}, headers=tenant.headers
    )
    assert r.json()["customer"]["email"] is None
    r = await client.get("/v1/orders?email=a@example.com", headers=tenant.headers)
    assert r.json()["data"] == []


async def test_patch_that_changes_nothing_keeps_the_version(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await _create(client, tenant, tags=["x"])
    r = await client.patch(
        f"/v1/orders/{created['id']}", json={"tags": ["x"]}, headers=tenant.headers
    )
    assert r.status_code == 200
    assert r.json() == created


async def test_patch_is_validated_like_a_create_with_pointers(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await _create(client, tenant)
    r = await client.patch(
        f"/v1/orders/{created['id']}",
        json={"customer": {"email": "nope", "country": "XX"}, "shipping_address": {"zip": "1"}},
        headers=tenant.headers,
    )
    assert r.status_code == 422
    assert {(e["pointer"], e["code"]) for e in r.json()["errors"]} == {
        ("/customer/email", "invalid_email"),
        ("/customer/country", "invalid_country"),
        ("/shipping_address/zip", "unknown_field"),
    }
    got = (await client.get(f"/v1/orders/{created['id']}", headers=tenant.headers)).json()
    assert got == created


async def test_patch_of_immutable_fields_is_422(client: httpx.AsyncClient, tenant: Tenant) -> None:
    created = await _create(client, tenant)
    r = await client.patch(
        f"/v1/orders/{created['id']}",
        json={"order_ref": "x", "items": [], "currency": "EUR"},
        headers=tenant.headers,
    )
    assert r.status_code == 422
    assert {(e["pointer"], e["code"]) for e in r.json()["errors"]} == {
        ("/order_ref", "immutable"),
        ("/items", "immutable"),
        ("/currency", "immutable"),
    }


async def test_patch_honours_if_match(client: httpx.AsyncClient, tenant: Tenant) -> None:
    created = await _create(client, tenant)
    url = f"/v1/orders/{created['id']}"
    r = await client.patch(url, json={"tags": ["a"]}, headers={**tenant.headers, "If-Match": '"2"'})
    assert r.status_code == 412
    r = await client.patch(url, json={"tags": ["a"]}, headers={**tenant.headers, "If-Match": '"1"'})
    assert r.status_code == 200
    r = await client.patch(url, json={"tags": ["b"]}, headers={**tenant.headers, "If-Match": "*"})
    assert r.status_code == 200
    assert r.json()["version"] == 3


async def test_patch_requires_a_json_object(client: httpx.AsyncClient, tenant: Tenant) -> None:
    created = await _create(client, tenant)
    r = await client.patch(f"/v1/orders/{created['id']}", json=[1], headers=tenant.headers)
    assert r.status_code == 422
    r = await client.patch(
        f"/v1/orders/{created['id']}",
        content=b"{}",
        headers={**tenant.headers, "content-type": "text/plain"},
    )
    assert r.status_code == 415
