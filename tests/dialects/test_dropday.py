"""The dropday dialect: Dropday Orders API v1 with the vendor's example body, Laravel's
validator messages, the paginator envelope, 404 and 401."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI

from tests.conftest import Tenant, make_tenant

# The vendor's example, as documented (ean13 as a 14-digit string with a leading zero, phone
# as a string, "email": "", "image_url": "", custom objects).
EXAMPLE: dict[str, Any] = {
    "external_id": "L41223D",
    "source": "Example Shop Dot Org",
    "test": False,
    "total": 435.45,
    "shipping_cost": 4.95,
    "email": "",
    "shipping_address": {
        "first_name": "John",
        "last_name": "Doe",
        "company_name": "Jeff",
        "address1": "Jumpstreet 23",
        "postcode": "4500",
        "city": "LA",
        "country": "US",
        "phone": "222 222",
    },
    "products": [
        {
            "external_id": "1",
            "ean13": "87235211235464",
            "name": "Pizza margerita",
            "reference": "PZZA00001",
            "quantity": 2,
            "stock_quantity": 424,
            "price": 10.99,
            "image_url": "",
            "brand": "Italian",
            "category": "Pizza's",
            "supplier": "Mario",
            "custom": {"toppings": "onions, olives", "customer_message": "No ananas/pineapple"},
        },
        {
            "external_id": "2",
            "ean13": "07235211235464",
            "reference": "COKE",
            "name": "Coca Cola",
            "quantity": 2,
            "stock_quantity": 34,
            "price": 2.50,
            "image_url": "",
            "brand": "Coca Cola",
            "category": "Drinks",
            "supplier": "The Coca Cola Company",
            "custom": {"customer_message": "No ice"},
        },
    ],
}


def headers(tenant: Tenant) -> dict[str, str]:
    """Dropday's own credential form: api-key + account-id."""
    return {"api-key": tenant.token, "account-id": tenant.org.trkref}


def example(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(EXAMPLE)
    body["external_id"] = "D-" + uuid.uuid4().hex[:10]
    body.update(changes)
    return body


async def create(client: httpx.AsyncClient, tenant: Tenant, body: Any) -> httpx.Response:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return await client.post("/dropday/api/v1/orders", content=content, headers=headers(tenant))


async def test_the_vendor_example_is_created_and_is_a_normal_order(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = example()
    r = await create(client, tenant, body)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert list(answer) == ["message", "reference"]
    assert answer["message"] == "Order created"
    assert isinstance(answer["reference"], int)

    order = (
        await client.get(f"/v1/orders/by-ref/{body['external_id']}", headers=tenant.headers)
    ).json()
    assert order["number"] == answer["reference"]
    assert order["submitted_via"] == "dropday"
    assert order["source"] == "Example Shop Dot Org"
    assert order["totals"]["total"] == "435.45"
    assert order["totals"]["shipping"] == "4.95"
    assert order["shipping_address"]["phone"] == "222 222"
    assert [
        (i["line_id"], i["sku"], i["gtin"], i["quantity"], i["unit_price"]) for i in order["items"]
    ] == [
        ("1", "PZZA00001", "87235211235464", 2, "10.99"),
        ("2", "COKE", "07235211235464", 2, "2.5"),  # no currency: kept as sent
    ]
    assert order["items"][0]["metadata"] == {
        "toppings": "onions, olives",
        "customer_message": "No ananas/pineapple",
    }

    got = await client.get(f"/dropday/api/v1/orders/{answer['reference']}", headers=headers(tenant))
    assert got.status_code == 200
    shown = got.json()
    assert shown["external_id"] == body["external_id"]
    assert shown["reference"] == str(answer["reference"])
    assert shown["total"] == 435.45
    assert shown["shipping_address"]["first_name"] == "John"
    assert [line["ean13"] for line in shown["order_lines"]] == ["87235211235464", "07235211235464"]
    assert shown["order_lines"][0]["current_status"] == "pending"
    assert shown["created_at"].endswith("Z")
    assert len(shown["created_at"]) == len("2025-09-22T14:30:00.000000Z")


async def test_the_same_external_id_again_changes_nothing(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = example()
    first = (await create(client, tenant, body)).json()
    again = await create(client, tenant, {**body, "total": 1.0})
    assert again.status_code == 200
    assert again.json() == {"message": "Order already exists", "reference": first["reference"]}
    order = (
        await client.get(f"/v1/orders/by-ref/{body['external_id']}", headers=tenant.headers)
    ).json()
    assert (order["version"], order["totals"]["total"]) == (1, "435.45")


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        (lambda b: b.pop("external_id"), {"external_id": ["The external id field is required."]}),
        (lambda b: b.pop("source"), {"source": ["The source field is required."]}),
        (lambda b: b.pop("total"), {"total": ["The total field is required."]}),
        (lambda b: b.update(total="lots"), {"total": ["The total field must be a number."]}),
        (lambda b: b.update(test="maybe"), {"test": ["The test field must be true or false."]}),
        (
            lambda b: b.update(email="nope"),
            {"email": ["The email field must be a valid email address."]},
        ),
        (
            lambda b: b.pop("shipping_address"),
            {"shipping_address": ["The shipping address field is required."]},
        ),
        (
            lambda b: b["shipping_address"].pop("first_name"),
            {"shipping_address.first_name": ["The shipping address.first name field is required."]},
        ),
        (
            lambda b: b["shipping_address"].update(country="USA"),
            {
                "shipping_address.country": [
                    "The shipping address.country field must be 2 characters."
                ]
            },
        ),
        (
            lambda b: b["shipping_address"].update(country="XX"),
            {"shipping_address.country": ["The selected shipping address.country is invalid."]},
        ),
        (lambda b: b.update(products=[]), {"products": ["The products field is required."]}),
        (
            lambda b: b["products"][0].pop("external_id"),
            {"products.0.external_id": ["The products.0.external_id field is required."]},
        ),
        (
            lambda b: b["products"][1].update(quantity=0),
            {"products.1.quantity": ["The products.1.quantity field must be at least 1."]},
        ),
        (
            lambda b: b["products"][0].update(quantity="two"),
            {"products.0.quantity": ["The products.0.quantity field must be an integer."]},
        ),
        (
            lambda b: b["products"][0].pop("price"),
            {"products.0.price": ["The products.0.price field is required."]},
        ),
        (
            lambda b: b["products"][0].update(ean13="12AB"),
            {"products.0.ean13": ["The products.0.ean13 field format is invalid."]},
        ),
    ],
)
async def test_invalid_bodies_get_laravel_messages(
    client: httpx.AsyncClient, tenant: Tenant, change: Any, errors: dict[str, list[str]]
) -> None:
    body = example()
    change(body)
    r = await create(client, tenant, body)
    assert r.status_code == 422, r.text
    assert r.json() == {"message": "Errors", "errors": errors}


async def test_every_failing_field_is_listed(client: httpx.AsyncClient, tenant: Tenant) -> None:
    r = await create(client, tenant, b"")
    assert r.status_code == 422
    assert r.json()["errors"] == {
        "external_id": ["The external id field is required."],
        "source": ["The source field is required."],
        "total": ["The total field is required."],
        "shipping_address": ["The shipping address field is required."],
        "products": ["The products field is required."],
    }


async def test_401(client: httpx.AsyncClient, tenant: Tenant) -> None:
    r = await client.post(
        "/dropday/api/v1/orders", content=orjson.dumps(example()), headers={"api-key": "x"}
    )
    assert r.status_code == 401
    assert r.json() == {
        "message": "Unauthorized",
        "error": "Invalid or missing api-key or account-id header",
    }
    r = await client.get("/dropday/api/v1/orders")
    assert r.status_code == 401


async def test_404(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for ref in ("999999", "INVALID-REF"):
        r = await client.get(f"/dropday/api/v1/orders/{ref}", headers=headers(tenant))
        assert r.status_code == 404
        assert r.json() == {
            "message": "Not Found",
            "error": f"Order with reference '{ref}' not found",
        }


async def test_the_list_pages_and_filters(app: FastAPI, client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(app)
    refs = []
    for i in range(5):
        body = example(external_id=f"PAGE-{i}", total=100 + i)
        refs.append((await create(client, tenant, body)).json()["reference"])
    await create(client, tenant, example(external_id="TEST-1", test=True))
    await create(client, tenant, example(external_id="OTHER-1", total=5))

    url = "/dropday/api/v1/orders"
    r = await client.get(
        url, params={"per_page": 2, "external_id": "page"}, headers=headers(tenant)
    )
    assert r.status_code == 200, r.text
    page = r.json()
    assert list(page) == ["current_page", "data", "links", "meta"]
    assert [o["external_id"] for o in page["data"]] == ["PAGE-4", "PAGE-3"]
    assert page["meta"] == {
        "current_page": 1,
        "from": 1,
        "last_page": 3,
        "path": "http://test/dropday/api/v1/orders",
        "per_page": 2,
        "to": 2,
        "total": 5,
    }
    assert page["links"] == {
        "first": "http://test/dropday/api/v1/orders?page=1",
        "last": "http://test/dropday/api/v1/orders?page=3",
        "prev": None,
        "next": "http://test/dropday/api/v1/orders?page=2",
    }
    r = await client.get(
        url, params={"per_page": 2, "external_id": "PAGE", "page": 3}, headers=headers(tenant)
    )
    last = r.json()
    assert [o["external_id"] for o in last["data"]] == ["PAGE-0"]
    assert (last["meta"]["from"], last["meta"]["to"], last["links"]["next"]) == (5, 5, None)

    all_ = (await client.get(url, headers=headers(tenant))).json()
    assert all_["meta"]["total"] == 6  # the test order is left out by default
    with_test = (
        await client.get(url, params={"include_test": "true"}, headers=headers(tenant))
    ).json()
    assert with_test["meta"]["total"] == 7
    cheap = (await client.get(url, params={"total_max": "50"}, headers=headers(tenant))).json()
    assert [o["external_id"] for o in cheap["data"]] == ["OTHER-1"]
    mid = (
        await client.get(
            url, params={"total_min": "101", "total_max": "103"}, headers=headers(tenant)
        )
    ).json()
    assert sorted(o["external_id"] for o in mid["data"]) == ["PAGE-1", "PAGE-2", "PAGE-3"]
    pending = (
        await client.get(url, params={"statuses": "pending"}, headers=headers(tenant))
    ).json()
    assert pending["meta"]["total"] == 6
    done = (await client.get(url, params={"statuses": "completed"}, headers=headers(tenant))).json()
    assert done["meta"]["total"] == 0
    future = (
        await client.get(url, params={"date_from": "2999-01-01T00:00:00"}, headers=headers(tenant))
    ).json()
    assert future["meta"]["total"] == 0
    r = await client.get(url, params={"per_page": 500}, headers=headers(tenant))
    assert r.status_code == 422
    assert r.json() == {
        "message": "Errors",
        "errors": {"per_page": ["The per page field must not be greater than 100."]},
    }


@pytest.mark.parametrize(
    "raw",
    [
        b'{"external_id": [], "source": {}, "total": NaN, "shipping_address": [], "products": {}}',
        b'{"external_id": "x", "products": [1, null, {"quantity": NaN, "price": [], "ean13": 1}]}',
        b'{"external_id": "x", "products": [{"custom": {"Bad Key": {"nested": 1}}}]}',
        b"[1, 2, 3]",
        b'{"email": "a\\u0000@example.com"}',
    ],
)
async def test_odd_bodies_are_422_never_a_500(
    client: httpx.AsyncClient, tenant: Tenant, raw: bytes
) -> None:
    r = await create(client, tenant, raw)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["message"] == "Errors"
    assert body["errors"]
    assert all(isinstance(v, list) and v for v in body["errors"].values())


@pytest.mark.parametrize(
    ("raw_change", "errors"),
    [
        (
            b'"quantity": 1e999999',
            {
                "products.0.quantity": [
                    "The products.0.quantity field must not be greater than 1000000."
                ]
            },
        ),
        (
            b'"quantity": "1e99999999999"',
            {
                "products.0.quantity": [
                    "The products.0.quantity field must not be greater than 1000000."
                ]
            },
        ),
        (
            b'"price": 1e1000000',
            {
                "products.0.price": [
                    "The products.0.price field must not be greater than 999999999999.9999."
                ]
            },
        ),
        (
            b'"name": "a\\u0000b"',
            {"products.0.name": ["The selected products.0.name is invalid."]},
        ),
    ],
)
async def test_extreme_values_are_quick_422s(
    client: httpx.AsyncClient, tenant: Tenant, raw_change: bytes, errors: dict[str, list[str]]
) -> None:
    body = orjson.dumps(example())
    key = raw_change.split(b":", 1)[0]
    product = body.index(b'"products":')
    start = body.index(key + b":", product)
    end = body.index(b",", start)
    raw = body[:start] + raw_change + body[end:]
    r = await create(client, tenant, raw)
    assert r.status_code == 422, r.text
    assert r.json()["errors"] == errors


async def test_every_failing_field_is_listed_across_both_rule_sets(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = example()
    body.pop("source")
    body["shipping_address"]["country"] = "XX"
    body["products"][0]["custom"] = {"Bad Key": 1}
    r = await create(client, tenant, body)
    assert r.json()["errors"] == {
        "source": ["The source field is required."],
        "shipping_address.country": ["The selected shipping address.country is invalid."],
        "products.0.custom": ["The selected products.0.custom is invalid."],
    }
    r = await create(client, tenant, {**example(), "email": "a@b"})
    assert r.json()["errors"] == {"email": ["The email field must be a valid email address."]}


async def test_a_repeated_product_id_is_accepted(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = example()
    body["products"][1]["external_id"] = body["products"][0]["external_id"]
    body["products"][0]["price"] = 1e2
    r = await create(client, tenant, body)
    assert r.status_code == 200, r.text
    shown = (
        await client.get(f"/dropday/api/v1/orders/{r.json()['reference']}", headers=headers(tenant))
    ).json()
    assert [line["external_id"] for line in shown["order_lines"]] == ["1", "1"]
    assert shown["order_lines"][0]["price"] == 100.0


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"total_min": "1e20"}, "total_min"),
        ({"page": str(2**62)}, "page"),
        ({"page": "²"}, "page"),
        ({"date_to": "9999-12-31T23:59:59.999999"}, "date_to"),
        ({"date_from": "0001-01-01T00:00:00+01:00"}, "date_from"),
        ({"per_page": "0"}, "per_page"),
        ({"include_test": "maybe"}, "include_test"),
    ],
)
async def test_bad_list_parameters_are_422(
    client: httpx.AsyncClient, tenant: Tenant, params: dict[str, str], field: str
) -> None:
    r = await client.get("/dropday/api/v1/orders", params=params, headers=headers(tenant))
    assert r.status_code == 422, r.text
    assert list(r.json()["errors"]) == [field]


async def test_a_date_only_date_to_includes_that_day(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    import datetime as dt

    await create(client, tenant, example())
    today = dt.datetime.now(dt.UTC).date().isoformat()
    r = await client.get(
        "/dropday/api/v1/orders", params={"date_to": today}, headers=headers(tenant)
    )
    assert r.json()["meta"]["total"] >= 1
    for ref in ("²", "01x", "-1"):
        r = await client.get(f"/dropday/api/v1/orders/{ref}", headers=headers(tenant))
        assert r.status_code == 404
