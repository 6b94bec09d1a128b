"""Inputs that once produced a wrong answer or a 500."""

from __future__ import annotations

import logging

import httpx
import orjson

from ordergate.logs import JsonFormatter
from tests import factories
from tests.conftest import Tenant


async def test_true_and_1_are_different_content(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = factories.order(metadata={"a": True})
    await client.post("/v1/orders", json=body, headers=tenant.headers)
    r = await client.post("/v1/orders", json={**body, "metadata": {"a": 1}}, headers=tenant.headers)
    assert r.status_code == 409
    assert r.json()["differences"] == ["/metadata/a"]
    r = await client.put(
        f"/v1/orders/by-ref/{body['order_ref']}",
        json={**body, "metadata": {"a": 1}},
        headers=tenant.headers,
    )
    assert r.json()["version"] == 2


async def test_times_past_the_representable_range_are_422_not_500(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    for value in ("9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+05:00"):
        body = factories.order(placed_at=value)
        r = await client.post("/v1/orders", json=body, headers=tenant.headers)
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["pointer"] == "/placed_at"
    r = await client.get(
        "/v1/orders?created_after=9999-12-31T23:00:00-05:00", headers=tenant.headers
    )
    assert r.status_code == 400


async def test_nul_characters_are_refused_with_pointers(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = factories.order(ref="A\u0000B", tags=["ok", "x\u0000"])
    r = await client.post("/v1/orders", json=body, headers=tenant.headers)
    assert r.status_code == 422
    assert [(e["pointer"], e["code"]) for e in r.json()["errors"]] == [
        ("/order_ref", "invalid_character"),
        ("/tags/1", "invalid_character"),
    ]
    for url in ("/v1/orders?sku=A%00", "/v1/orders/by-ref/A%00"):
        r = await client.get(url, headers=tenant.headers)
        assert r.status_code == 400
        assert r.json()["code"] == "invalid_character"


async def test_an_order_ref_with_a_slash_is_addressable(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = factories.order(ref="2024/11/0042")
    created = (await client.post("/v1/orders", json=body, headers=tenant.headers)).json()
    r = await client.get("/v1/orders/by-ref/2024/11/0042", headers=tenant.headers)
    assert r.json()["id"] == created["id"]
    r = await client.get("/v1/orders/by-ref/2024%2F11%2F0042", headers=tenant.headers)
    assert r.json()["id"] == created["id"]
    r = await client.put(
        "/v1/orders/by-ref/2024/11/0042", json={**body, "tags": ["x"]}, headers=tenant.headers
    )
    assert r.status_code == 200
    assert r.json()["version"] == 2


async def test_if_match_is_a_strong_list_comparison(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = (
        await client.post("/v1/orders", json=factories.order(), headers=tenant.headers)
    ).json()
    url = f"/v1/orders/{created['id']}"

    async def patch(if_match: str) -> int:
        r = await client.patch(
            url, json={"tags": [if_match]}, headers={**tenant.headers, "If-Match": if_match}
        )
        return r.status_code

    assert await patch('W/"1"') == 412
    assert await patch("1") == 412  # not a quoted entity tag
    assert await patch('"7", "1"') == 200
    assert await patch('"2"') == 200


async def test_patch_reports_immutable_and_invalid_fields_together(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = (
        await client.post("/v1/orders", json=factories.order(), headers=tenant.headers)
    ).json()
    r = await client.patch(
        f"/v1/orders/{created['id']}",
        json={"test": True, "id": "x", "customer": {"email": "no"}},
        headers=tenant.headers,
    )
    assert r.status_code == 422
    assert {(e["pointer"], e["code"]) for e in r.json()["errors"]} == {
        ("/test", "immutable"),
        ("/id", "unknown_field"),
        ("/customer/email", "invalid_email"),
    }


async def test_patch_of_a_missing_order_is_404_even_with_bad_fields(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    r = await client.patch(
        "/v1/orders/01a20944-af98-71ed-8136-7ad14ab2684a",
        json={"test": True},
        headers=tenant.headers,
    )
    assert r.status_code == 404


async def test_put_reports_a_ref_mismatch_with_the_other_errors(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = factories.order(ref="B", currency="NOPE")
    r = await client.put("/v1/orders/by-ref/A", json=body, headers=tenant.headers)
    assert [(e["pointer"], e["code"]) for e in r.json()["errors"]] == [
        ("/order_ref", "mismatch"),
        ("/currency", "invalid_currency"),
    ]


async def test_fulfilled_at_follows_the_lifecycle_after_a_replacement(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = factories.order(fulfilled_at="2024-03-01")
    created = (await client.post("/v1/orders", json=body, headers=tenant.headers)).json()
    assert created["fulfilled_at"] == "2024-03-01T00:00:00Z"
    ref = body["order_ref"]
    without = {k: v for k, v in body.items() if k != "fulfilled_at"}
    r = await client.put(f"/v1/orders/by-ref/{ref}", json=without, headers=tenant.headers)
    assert r.json()["status"] == "fulfilled"
    assert r.json()["fulfilled_at"] == "2024-03-01T00:00:00Z"
    later = {**body, "fulfilled_at": "2024-05-01"}
    r = await client.put(f"/v1/orders/by-ref/{ref}", json=later, headers=tenant.headers)
    assert r.json()["fulfilled_at"] == "2024-03-01T00:00:00Z"


async def test_metadata_integers_beyond_2_53_are_refused(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    raw = orjson.dumps(factories.order()).replace(
        b'"currency"', b'"metadata":{"n":9007199254740993},"currency"'
    )
    r = await client.post(
        "/v1/orders", content=raw, headers={**tenant.headers, "content-type": "application/json"}
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["pointer"] == "/metadata/n"


def test_json_log_lines_are_json() -> None:
    record = logging.LogRecord("ordergate", logging.INFO, __file__, 1, "it's %s", ("here",), None)
    line = orjson.loads(JsonFormatter().format(record))
    assert line["message"] == "it's here"
    assert line["level"] == "INFO"
