"""The reevoo dialect: Reevoo Platform API v4 customer orders, with the vendor's own example
bodies, every documented status code and the exact response bodies."""

from __future__ import annotations

import base64
import copy
import uuid
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI

from tests.conftest import Tenant, add_key, make_tenant

# The vendor's example, as documented (typo `cutomer_ref`, "55,99", a number 10, dd-mm-yyyy).
EXAMPLE: dict[str, Any] = {
    "trkref": "TRKREF123",
    "order_ref": "ABC123",
    "order_date": "10-12-2014",
    "fulfilment_date": "24-12-2014",
    "language": "en",
    "locale": "en-GB",
    "customer": {
        "email": "hello@example.com",
        "cutomer_ref": "1122",
        "title": "MR",
        "first_name": "John",
        "surname": "Brown",
        "postcode": "1122",
        "country": "GB",
    },
    "order_items": [
        {
            "sku": "PROD1",
            "price": "55,99",
            "currency": "GBP",
            "metadata": {"field_1": "Value 1", "field_2": "Value 2"},
        },
        {
            "sku": "PROD2",
            "price": 10,
            "currency": "GBP",
            "metadata": {"field_1": "Value 1", "field_2": "Value 2"},
        },
    ],
}


def basic(tenant: Tenant) -> dict[str, str]:
    key_id, secret = tenant.token.split(".", 1)
    return {"Authorization": "Basic " + base64.b64encode(f"{key_id}:{secret}".encode()).decode()}


def example(tenant: Tenant, **changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(EXAMPLE)
    body["trkref"] = tenant.org.trkref
    body["order_ref"] = "R-" + uuid.uuid4().hex[:10]
    body.update(changes)
    return body


def single_url(tenant: Tenant, trkref: str | None = None) -> str:
    return f"/reevoo/v4/organisations/{trkref or tenant.org.trkref}/customer_order"


async def post_single(
    client: httpx.AsyncClient, tenant: Tenant, body: Any, trkref: str | None = None
) -> httpx.Response:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    headers = {**basic(tenant), "content-type": "application/json"}
    return await client.post(single_url(tenant, trkref), content=content, headers=headers)


async def test_the_vendor_example_is_accepted_and_becomes_a_normal_order(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = example(tenant)
    r = await post_single(client, tenant, body)
    assert r.status_code == 202, r.text
    answer = r.json()
    assert list(answer) == ["status", "id", "message"]
    assert answer["status"] == 202
    assert answer["message"] == "Customer order accepted"
    uuid.UUID(answer["id"])

    sub = await client.get(f"/v1/submissions/{answer['id']}", headers=tenant.headers)
    assert sub.status_code == 200
    assert (sub.json()["dialect"], sub.json()["outcome"]) == ("reevoo", "created")

    order = (
        await client.get(f"/v1/orders/by-ref/{body['order_ref']}", headers=tenant.headers)
    ).json()
    assert order["submitted_via"] == "reevoo"
    assert order["status"] == "fulfilled"
    assert order["placed_at"] == "2014-12-10T00:00:00Z"
    assert order["fulfilled_at"] == "2014-12-24T00:00:00Z"
    assert order["currency"] == "GBP"
    assert order["customer"]["last_name"] == "Brown"
    assert order["customer"]["customer_ref"] is None  # the typo is ignored, as the vendor does
    assert order["billing_address"]["postal_code"] == "1122"
    assert [(i["sku"], i["unit_price"], i["quantity"]) for i in order["items"]] == [
        ("PROD1", "55.99", 1),
        ("PROD2", "10.00", 1),
    ]
    assert order["items"][0]["metadata"] == {"field_1": "Value 1", "field_2": "Value 2"}


async def test_resubmitting_updates_the_order_and_answers_202_again(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = example(tenant, fulfilment_date=None)
    assert (await post_single(client, tenant, body)).status_code == 202
    changed = {**body, "language": "de", "locale": "de-DE"}
    r = await post_single(client, tenant, changed)
    assert r.status_code == 202
    order = (
        await client.get(f"/v1/orders/by-ref/{body['order_ref']}", headers=tenant.headers)
    ).json()
    assert (order["language"], order["version"], order["status"]) == ("de", 2, "unfulfilled")


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({"order_ref": ""}, ["order_ref cannot be blank"]),
        (
            {"order_date": None, "fulfilment_date": None},
            ["order_date cannot be blank when fulfilment_date is blank"],
        ),
        ({"order_date": "2014-12-10"}, ["invalid order_date"]),
        ({"fulfilment_date": "31-02-2014"}, ["invalid fulfilment_date"]),
        ({"locale": "english"}, ["invalid locale"]),
        ({"language": "xx"}, ["invalid language"]),
        ({"customer": None}, ["customer cannot be blank"]),
        ({"customer": {"email": "not-an-email"}}, ["invalid email"]),
        ({"customer": {"first_name": "Ann"}}, ["email cannot be blank"]),
        ({"customer": {"email": "a@example.com", "country": "GBR"}}, ["invalid country"]),
        ({"order_items": []}, ["order_items cannot be blank"]),
        ({"order_items": [{"sku": ""}]}, ["order_items[0].sku cannot be blank"]),
        ({"order_items": [{"sku": "A", "price": "5 euros"}]}, ["invalid order_items[0].price"]),
        ({"order_items": [{"sku": "A", "currency": "XXX"}]}, ["invalid order_items[0].currency"]),
        ({"trkref": None}, ["trkref cannot be blank"]),
        (
            {"order_ref": "", "locale": "english", "customer": {"email": "bad"}},
            ["order_ref cannot be blank", "invalid locale", "invalid email"],
        ),
    ],
)
async def test_invalid_orders_are_422_with_every_vendor_message(
    client: httpx.AsyncClient, tenant: Tenant, changes: dict[str, Any], errors: list[str]
) -> None:
    r = await post_single(client, tenant, example(tenant, **changes))
    assert r.status_code == 422, r.text
    body = r.json()
    assert list(body) == ["status", "message", "errors"]
    assert body["status"] == 422
    assert body["message"] == "Invalid customer order"
    assert sorted(body["errors"]) == sorted(errors)


@pytest.mark.parametrize("raw", [b"", b"   ", b"{}", b"not json", b"[1, 2]"])
async def test_no_data_is_422_no_data_provided(
    client: httpx.AsyncClient, tenant: Tenant, raw: bytes
) -> None:
    r = await post_single(client, tenant, raw)
    assert r.status_code == 422
    assert r.json() == {"status": 422, "message": "No data provided", "errors": []}


async def test_trkref_problems_are_400(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    expected = {"status": 400, "message": "Invalid TRKREF supplied"}
    lower = tenant.org.trkref.lower()
    other = await make_tenant(app)
    for trkref, body in (
        (lower, example(tenant)),  # malformed (lowercase)
        ("NOPE-NOT-KNOWN", example(tenant)),  # unknown
        (other.org.trkref, example(tenant)),  # another organisation's
        (tenant.org.trkref, example(tenant, trkref=other.org.trkref)),  # body ≠ path
    ):
        r = await post_single(client, tenant, body, trkref=trkref)
        assert r.status_code == 400, (trkref, r.text)
        assert r.json() == expected


async def test_401_and_403_bodies(app: FastAPI, client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = orjson.dumps(example(tenant))
    bad = {"Authorization": "Basic " + base64.b64encode(b"ogk_nope:wrong").decode()}
    r = await client.post(single_url(tenant), content=body, headers=bad)
    assert (r.status_code, r.json()) == (401, {"status": 401, "message": "Unauthorized"})
    r = await client.post("/reevoo/v4/customer_orders", content=b"[]", headers=bad)
    assert (r.status_code, r.json()) == (401, {"status": 401, "errors": "Unauthorized"})

    read_only = await add_key(app, tenant, scopes=["orders:read"])
    headers = {"Authorization": f"Bearer {read_only}"}
    r = await client.post(single_url(tenant), content=body, headers=headers)
    assert (r.status_code, r.json()) == (403, {"status": 403, "error": "Access denied"})
    r = await client.post("/reevoo/v4/customer_orders", content=b"[]", headers=headers)
    assert (r.status_code, r.json()) == (403, {"status": 403, "error": "Access denied"})


async def post_batch(client: httpx.AsyncClient, tenant: Tenant, body: Any) -> httpx.Response:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return await client.post("/reevoo/v4/customer_orders", content=content, headers=basic(tenant))


async def test_a_batch_of_valid_orders_is_202(client: httpx.AsyncClient, tenant: Tenant) -> None:
    orders = [example(tenant) for _ in range(3)]
    r = await post_batch(client, tenant, orders)
    assert r.status_code == 202, r.text
    body = r.json()
    assert list(body) == ["status", "id", "message", "summary"]
    assert (body["status"], body["message"]) == (202, "Batch Accepted")
    assert body["summary"] == {"accepted": 3, "rejected": 0}
    for o in orders:
        got = await client.get(f"/v1/orders/by-ref/{o['order_ref']}", headers=tenant.headers)
        assert got.json()["submitted_via"] == "reevoo"
    sub = (await client.get(f"/v1/submissions/{body['id']}", headers=tenant.headers)).json()
    assert (sub["dialect"], sub["outcome"], len(sub["order_ids"])) == ("reevoo", "batch", 3)


async def test_a_mixed_batch_is_206_and_echoes_the_rejected_orders(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    other = await make_tenant(app)
    good = example(tenant)
    invalid = example(tenant, order_ref="", locale="english")
    foreign = example(other)
    r = await post_batch(client, tenant, [good, invalid, foreign])
    assert r.status_code == 206, r.text
    body = r.json()
    assert list(body) == ["status", "id", "message", "summary", "errors"]
    assert (body["status"], body["message"]) == (206, "Batch partially accepted")
    assert body["summary"] == {"accepted": 1, "rejected": 2}
    assert body["errors"] == [
        {"customer_order": invalid, "errors": ["order_ref cannot be blank", "invalid locale"]},
        {"customer_order": foreign, "errors": ["Access denied"]},
    ]
    # nothing was written for the other organisation
    r = await client.get(f"/v1/orders/by-ref/{foreign['order_ref']}", headers=other.headers)
    assert r.status_code == 404


async def test_a_batch_with_nothing_accepted_is_422(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    bad = example(tenant, order_date=None, fulfilment_date=None)
    r = await post_batch(client, tenant, [bad])
    assert r.status_code == 422
    body = r.json()
    assert list(body) == ["status", "id", "message", "summary", "errors"]
    assert (body["message"], body["summary"]) == (
        "Batch is invalid",
        {"accepted": 0, "rejected": 1},
    )
    assert body["errors"][0]["errors"] == [
        "order_date cannot be blank when fulfilment_date is blank"
    ]
    for raw in (b"", b"{}", b"[]", b"nope"):
        r = await post_batch(client, tenant, raw)
        assert r.status_code == 422
        assert r.json()["message"] == "No data provided"


async def test_a_batch_repeating_an_order_ref_keeps_the_last(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    first = example(tenant, language="en")
    second = {**first, "language": "fr", "locale": "fr-FR"}
    r = await post_batch(client, tenant, [first, second])
    assert r.status_code == 202
    order = (
        await client.get(f"/v1/orders/by-ref/{first['order_ref']}", headers=tenant.headers)
    ).json()
    assert (order["language"], order["version"]) == ("fr", 2)


async def test_the_routes_are_in_the_openapi_document(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/openapi.json")).json()
    single = doc["paths"]["/reevoo/v4/organisations/{trkref}/customer_order"]["post"]
    schema = single["requestBody"]["content"]["application/json"]["schema"]
    assert schema["properties"]["customer"] == {"$ref": "#/components/schemas/ReevooCustomer"}
    assert {"202", "400", "401", "403", "422"} <= set(single["responses"])
    assert "ReevooCustomer" in doc["components"]["schemas"]
    batch_op = doc["paths"]["/reevoo/v4/customer_orders"]["post"]
    assert {"202", "206", "401", "403", "422"} <= set(batch_op["responses"])


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({"order_ref": None}, ["order_ref cannot be blank"]),
        ({"order_ref": "   "}, ["order_ref cannot be blank"]),
        ({"order_ref": 123}, ["invalid order_ref"]),
        ({"order_items": [{"price": "1"}]}, ["order_items[0].sku cannot be blank"]),
        ({"order_items": [{"sku": None}]}, ["order_items[0].sku cannot be blank"]),
        ({"order_items": [{"sku": "A", "currency": ["GBP"]}]}, ["invalid order_items[0].currency"]),
        ({"order_items": {"sku": "A"}}, ["invalid order_items"]),
        ({"order_items": [1]}, ["invalid order_items[0]"]),
        (
            {
                "order_items": [
                    1,
                    {"sku": ""},
                    {"sku": "B", "price": "x"},
                    {"sku": "C", "currency": "ZZZ"},
                ]
            },
            [
                "invalid order_items[0]",
                "order_items[1].sku cannot be blank",
                "invalid order_items[2].price",
                "invalid order_items[3].currency",
            ],
        ),
        ({"order_date": "١٠-١٢-٢٠١٤"}, ["invalid order_date"]),
        ({"order_items": [{"sku": "A", "price": "５５,９９"}]}, ["invalid order_items[0].price"]),
        (
            {"customer": {"email": "a@example.com", "first_name": "a\u0000b"}},
            ["invalid first_name"],
        ),
    ],
)
async def test_edge_cases_get_vendor_messages_never_a_500(
    client: httpx.AsyncClient, tenant: Tenant, changes: dict[str, Any], errors: list[str]
) -> None:
    r = await post_single(client, tenant, example(tenant, **changes))
    assert r.status_code == 422, r.text
    assert r.json()["errors"] == errors


async def test_an_item_without_a_currency_does_not_take_another_items(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = example(
        tenant,
        order_items=[
            {"sku": "A", "price": "5,99", "currency": "GBP"},
            {"sku": "B", "price": "3"},
        ],
    )
    assert (await post_single(client, tenant, body)).status_code == 202
    order = (
        await client.get(f"/v1/orders/by-ref/{body['order_ref']}", headers=tenant.headers)
    ).json()
    assert [i["currency"] for i in order["items"]] == ["GBP", None]
    assert order["currency"] is None


async def test_a_batch_rejects_bad_orders_one_by_one_and_lists_every_message(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    good = example(tenant)
    no_trkref = example(tenant, trkref=None, order_ref="", locale="xx")
    raw = (
        b"["
        + orjson.dumps(good)
        + b","
        + orjson.dumps(no_trkref)
        + b',{"trkref": "'
        + tenant.org.trkref.encode()
        + b'", "order_ref": "N1", "order_date": "10-12-2014",'
        + b' "customer": {"email": "a@example.com"},'
        + b' "order_items": [{"sku": "A", "price": NaN}]}'
        + b","
        + orjson.dumps(example(tenant, customer={"email": "a@example.com", "title": "a\u0000"}))
        + b"]"
    )
    r = await post_batch(client, tenant, raw)
    assert r.status_code == 206, r.text
    body = r.json()
    assert body["summary"] == {"accepted": 1, "rejected": 3}
    assert [e["errors"] for e in body["errors"]] == [
        ["trkref cannot be blank", "order_ref cannot be blank", "invalid locale"],
        ["invalid order_items[0].price"],
        ["invalid title"],
    ]
    assert body["errors"][1]["customer_order"]["order_items"][0]["price"] == "NaN"
