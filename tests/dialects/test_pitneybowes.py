"""The pitneybowes dialect: Pitney Bowes Shipping 360 Order Management API v1 — create with
the documented example, PB's error list, exact amounts, duplicates, get/patch/delete."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import httpx
import orjson
import pytest

from ordergate.dialects.pitneybowes import ids
from tests.conftest import Tenant

URL = "/pitneybowes/api/v1/orders"

# The vendor's documented request sample, with the sub-objects it elides filled in from the
# sample values of its schema (research notes: vendor-apis/pitneybowes.md).
EXAMPLE: dict[str, Any] = {
    "orderNumber": "ORD12346",
    "orderMessage": {"type": "GIFT", "message": "Happy birthday!"},
    "metadata": [
        {"name": "costAccountName", "value": "Marketing"},
        {"name": "costAccountId", "value": "CA-17"},
        {"name": "costAccountCode", "value": "7001"},
    ],
    "charges": {
        "currency": "USD",
        "billingStatus": "Paid",
        "gmv": 100,
        "subTotal": 90,
        "totalPaid": 100,
        "paymentType": "Credit Card",
    },
    "shippingReference": {
        "reference1": "R1",
        "reference2": "R2",
        "shipperReference": "SHIP-9",
        "shippingNotes": "Leave at the door",
    },
    "customerInfo": {
        "firstName": "Jane",
        "lastName": "Doe",
        "email": "jane@example.com",
        "customerId": "C-1",
    },
    "fromAddress": {
        "name": "Warehouse",
        "company": "Example Ltd",
        "addressLine1": "100 Main St",
        "cityTown": "Winnipeg",
        "stateProvince": "MB",
        "postalCode": "R3C 4T3",
        "countryCode": "CA",
        "phone": "2045550100",
        "email": "ship@example.com",
        "residential": False,
    },
    "toAddress": {
        "name": "Jane Doe",
        "addressLine1": "1 Elm St",
        "addressLine2": "Apt 2",
        "addressLine3": "Back door",
        "cityTown": "Springfield",
        "stateProvince": "IL",
        "postalCode": "62701",
        "countryCode": "US",
        "phone": "2175550100",
        "email": "jane@example.com",
        "residential": True,
    },
    "items": [
        {"customProductId": "SKU-1", "name": "Mug", "quantity": 2, "unitPrice": 30},
        {"sku": "SKU-2", "description": "Spoon", "quantity": 1, "unitPrice": 30},
    ],
    "additionalAddresses": [{"type": "BILLING", "addressLine1": "9 Oak St", "weight": 1.5}],
    "shippingPreferences": {"service": "PRIORITY", "insuredValue": 100.25},
}


def example(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(EXAMPLE)
    body["orderNumber"] = "ORD-" + uuid.uuid4().hex[:10]
    body.update(changes)
    return body


def send(client: httpx.AsyncClient, tenant: Tenant, method: str, url: str, body: Any = None) -> Any:
    h = {**tenant.headers, "Content-Type": "application/json"}
    content = None if body is None else body if isinstance(body, bytes) else orjson.dumps(body)
    return client.request(method, url, content=content, headers=h)


async def create(client: httpx.AsyncClient, tenant: Tenant, body: Any) -> httpx.Response:
    return await send(client, tenant, "POST", URL, body)  # type: ignore[no-any-return]


async def canonical(client: httpx.AsyncClient, tenant: Tenant, ref: str) -> dict[str, Any]:
    r = await client.get(f"/v1/orders/by-ref/{ref}", headers=tenant.headers)
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def test_the_documented_example_creates_an_unfulfilled_order(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = example()
    r = await create(client, tenant, body)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert list(answer) == ["orderId", "orderNumber", "status", "transactionCreateDate"]
    assert answer["orderNumber"] == body["orderNumber"]
    assert answer["status"] == "Success"
    assert len(answer["orderId"]) == 12
    assert answer["orderId"].startswith("PB")
    stamp = answer["transactionCreateDate"]
    assert len(stamp) == len("2026-01-30T10:53:24.554Z")
    assert stamp.endswith("Z")
    assert stamp[19] == "."

    order = await canonical(client, tenant, body["orderNumber"])
    assert order["status"] == "unfulfilled"
    assert order["submitted_via"] == "pitneybowes"
    assert ids.parse(answer["orderId"]) == (tenant.org.number, order["number"])
    assert order["currency"] == "USD"
    assert order["totals"]["total"] == "100.00"
    assert order["totals"]["subtotal"] == "90.00"
    assert order["payment_method"] == "Credit Card"
    assert order["message"] == {"type": "GIFT", "text": "Happy birthday!"}
    assert order["customer"]["customer_ref"] == "C-1"
    assert order["shipping_address"]["line2"] == "Apt 2"
    assert order["shipping_address"]["region"] == "IL"
    assert order["from_address"]["country"] == "CA"
    assert order["metadata"]["cost_account_name"] == "Marketing"
    assert order["metadata"]["shipping_reference_shipper_reference"] == "SHIP-9"
    assert order["metadata"]["pb_to_address_line3"] == "Back door"
    assert [(i["line_id"], i["sku"], i["quantity"], i["unit_price"]) for i in order["items"]] == [
        ("1", "SKU-1", 2, "30.00"),
        ("2", "SKU-2", 1, "30.00"),
    ]

    got = await client.get(f"{URL}/{answer['orderId']}", headers=tenant.headers)
    assert got.status_code == 200
    view = got.json()
    assert view["orderStatus"] == "UNFULFILLED"
    assert view["transactionCreateDate"] == stamp
    for key in (
        "orderNumber",
        "orderMessage",
        "metadata",
        "customerInfo",
        "additionalAddresses",
        "shippingPreferences",
    ):
        assert view[key] == body[key], key
    assert view["charges"] == {
        "currency": "USD",
        "gmv": 100,
        "subTotal": 90.0,
        "totalPaid": 100.0,
        "paymentType": "Credit Card",
        "billingStatus": "Paid",
    }
    assert view["toAddress"] == body["toAddress"] | {"company": None}
    assert view["shippingReference"] == {
        "reference1": "R1",
        "reference2": "R2",
        "reference3": None,
        "reference4": None,
        "shipperReference": "SHIP-9",
        "transportationReference": None,
        "shippingNotes": "Leave at the door",
    }
    assert view["items"] == [
        {
            "customProductId": "SKU-1",
            "name": "Mug",
            "description": None,
            "quantity": 2,
            "unitPrice": 30.0,
        },
        {"sku": "SKU-2", "name": None, "description": "Spoon", "quantity": 1, "unitPrice": 30.0},
    ]


async def test_amounts_stay_exact(client: httpx.AsyncClient, tenant: Tenant) -> None:
    # 0.1 + 0.2 is 0.30000000000000004 in binary floating point; a PB amount is kept as written
    raw = orjson.dumps(example(charges={"currency": "EUR"})).replace(
        b'"currency":"EUR"',
        b'"currency":"EUR","totalPaid":0.30,"subTotal":0.1,"gmv":1234567890.12',
    )
    r = await create(client, tenant, raw)
    assert r.status_code == 200, r.text
    order_id = r.json()["orderId"]
    got = await client.get(f"{URL}/{order_id}", headers=tenant.headers)
    assert b'"totalPaid":0.30' in got.content
    assert b'"subTotal":0.10' in got.content
    assert b'"gmv":1234567890.12' in got.content
    body = got.json()
    order = await canonical(client, tenant, body["orderNumber"])
    assert order["totals"]["total"] == "0.30"
    assert order["metadata"]["pb_charges_gmv"] == "1234567890.12"
    # more decimals than the currency has: refused, not rounded
    wrong = example(charges={"currency": "USD", "totalPaid": 0.30000000000000004})
    refused = await create(client, tenant, wrong)
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["additionalInfo"] == "charges.totalPaid"


@pytest.mark.parametrize(
    ("change", "path", "code"),
    [
        (lambda b: b.pop("orderNumber"), "orderNumber", "MISSING_REQUIRED_FIELD"),
        (lambda b: b.pop("fromAddress"), "fromAddress", "MISSING_REQUIRED_FIELD"),
        (lambda b: b.pop("toAddress"), "toAddress", "MISSING_REQUIRED_FIELD"),
        (lambda b: b.pop("items"), "items", "MISSING_REQUIRED_FIELD"),
        (lambda b: b.update(items=[]), "items", "MISSING_REQUIRED_FIELD"),
        (
            lambda b: b["toAddress"].pop("addressLine1"),
            "toAddress.addressLine1",
            "MISSING_REQUIRED_FIELD",
        ),
        (lambda b: b["toAddress"].pop("cityTown"), "toAddress.cityTown", "MISSING_REQUIRED_FIELD"),
        (
            lambda b: b["toAddress"].pop("countryCode"),
            "toAddress.countryCode",
            "MISSING_REQUIRED_FIELD",
        ),
        (
            lambda b: b["toAddress"].pop("postalCode"),
            "toAddress.postalCode",
            "MISSING_REQUIRED_FIELD",
        ),
        (
            lambda b: b["toAddress"].update(countryCode="USA"),
            "toAddress.countryCode",
            "INVALID_FIELD_LENGTH",
        ),
        (
            lambda b: b["toAddress"].update(countryCode="XX"),
            "toAddress.countryCode",
            "INVALID_COUNTRY_CODE",
        ),
        (
            lambda b: b["toAddress"].update(postalCode="6270"),
            "toAddress.postalCode",
            "INVALID_POSTAL_CODE",
        ),
        (
            lambda b: b["fromAddress"].update(postalCode="12345"),
            "fromAddress.postalCode",
            "INVALID_POSTAL_CODE",
        ),
        (
            lambda b: b["toAddress"].update(stateProvince="ZZ"),
            "toAddress.stateProvince",
            "INVALID_STATE_PROVINCE",
        ),
        (lambda b: b["toAddress"].update(name="x" * 41), "toAddress.name", "INVALID_FIELD_LENGTH"),
        (
            lambda b: b["toAddress"].update(phone="1" * 16),
            "toAddress.phone",
            "INVALID_FIELD_LENGTH",
        ),
        (lambda b: b["toAddress"].update(email="nope"), "toAddress.email", "INVALID_EMAIL"),
        (
            lambda b: b["toAddress"].update(residential="yes"),
            "toAddress.residential",
            "INVALID_FIELD_TYPE",
        ),
        (lambda b: b["items"][0].update(quantity=0), "items[0].quantity", "INVALID_FIELD_VALUE"),
        (lambda b: b["items"][1].update(quantity="2"), "items[1].quantity", "INVALID_FIELD_TYPE"),
        (lambda b: b["items"][1].pop("sku"), "items[1].sku", "MISSING_REQUIRED_FIELD"),
        (
            lambda b: b["items"][0].update(unitPrice="30"),
            "items[0].unitPrice",
            "INVALID_FIELD_TYPE",
        ),
        (lambda b: b["items"][0].update(unitPrice=-1), "items[0].unitPrice", "INVALID_FIELD_VALUE"),
        (
            lambda b: b["charges"].update(currency="DOLLARS"),
            "charges.currency",
            "INVALID_FIELD_LENGTH",
        ),
        (lambda b: b["charges"].update(currency="XYZ"), "charges.currency", "INVALID_FIELD_VALUE"),
        (lambda b: b["customerInfo"].update(email="nope"), "customerInfo.email", "INVALID_EMAIL"),
        (
            lambda b: b["metadata"].append({"name": "bad name", "value": 1}),
            "metadata[3].name",
            "INVALID_FIELD_VALUE",
        ),
        (
            lambda b: b["metadata"].append({"name": "costAccountId", "value": 1}),
            "metadata[3].name",
            "INVALID_FIELD_VALUE",
        ),
        (lambda b: b.update(orderMessage="hi"), "orderMessage", "INVALID_FIELD_TYPE"),
    ],
)
async def test_each_invalid_field_is_named_by_its_path(
    client: httpx.AsyncClient, tenant: Tenant, change: Any, path: str, code: str
) -> None:
    body = example()
    change(body)
    r = await create(client, tenant, body)
    assert r.status_code == 400, r.text
    errors = r.json()["errors"]
    assert [(e["additionalInfo"], e["errorCode"]) for e in errors] == [(path, code)]
    assert errors[0]["errorDescription"]
    if "orderNumber" in body:
        gone = await client.get(f"/v1/orders/by-ref/{body['orderNumber']}", headers=tenant.headers)
        assert gone.status_code == 404


async def test_every_invalid_field_is_listed(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = example()
    body.pop("fromAddress")
    body["toAddress"]["countryCode"] = "XX"
    body["items"][0]["quantity"] = 0
    body["items"][1]["unitPrice"] = "free"
    r = await create(client, tenant, body)
    assert r.status_code == 400
    assert [e["additionalInfo"] for e in r.json()["errors"]] == [
        "fromAddress",
        "toAddress.countryCode",
        "items[0].quantity",
        "items[1].unitPrice",
    ]
    sub = await client.get(f"/v1/submissions/{r.headers['Submission-Id']}", headers=tenant.headers)
    assert (sub.json()["dialect"], sub.json()["outcome"]) == ("pitneybowes", "invalid")


async def test_duplicates(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = example()
    first = (await create(client, tenant, body)).json()
    again = await create(client, tenant, body)
    assert again.status_code == 200
    assert again.json() == first  # same orderId, same transactionCreateDate
    changed = copy.deepcopy(body)
    changed["toAddress"]["cityTown"] = "Chicago"
    changed["items"][0]["quantity"] = 3
    conflict = await create(client, tenant, changed)
    assert conflict.status_code == 400
    (error,) = conflict.json()["errors"]
    assert error["errorCode"] == "DUPLICATE_ORDER_NUMBER"
    assert error["additionalInfo"] == "orderNumber"
    assert first["orderId"] in error["errorDescription"]
    assert "toAddress.cityTown" in error["errorDescription"]
    assert "items[0].quantity" in error["errorDescription"]
    order = await canonical(client, tenant, body["orderNumber"])
    assert order["version"] == 1


async def test_patch_changes_only_what_it_sends(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = example()
    order_id = (await create(client, tenant, body)).json()["orderId"]
    patch = {
        "toAddress": {"addressLine2": None, "cityTown": "Chicago", "postalCode": "60601"},
        "charges": {"totalPaid": 95.5},
        "items": [{"customProductId": "SKU-1", "name": "Mug", "quantity": 3, "unitPrice": 30}],
        "orderStatus": "FULFILLED",  # a server field: ignored
    }
    r = await send(client, tenant, "PATCH", f"{URL}/{order_id}", patch)
    assert r.status_code == 200, r.text
    view = r.json()
    assert view["orderStatus"] == "UNFULFILLED"
    assert view["toAddress"]["cityTown"] == "Chicago"
    assert view["toAddress"]["addressLine2"] is None
    assert view["toAddress"]["addressLine1"] == "1 Elm St"
    assert view["charges"]["totalPaid"] == 95.5
    assert view["charges"]["subTotal"] == 90
    assert view["customerInfo"] == body["customerInfo"]
    assert [i["quantity"] for i in view["items"]] == [3]
    order = await canonical(client, tenant, body["orderNumber"])
    assert order["version"] == 2
    assert order["totals"]["total"] == "95.50"

    same = await send(client, tenant, "PATCH", f"{URL}/{order_id}", patch)
    assert same.status_code == 200
    assert (await canonical(client, tenant, body["orderNumber"]))["version"] == 2

    bad = await send(
        client,
        tenant,
        "PATCH",
        f"{URL}/{order_id}",
        {"toAddress": {"countryCode": "ZZ"}, "orderNumber": "OTHER"},
    )
    assert bad.status_code == 400
    assert [(e["additionalInfo"], e["errorCode"]) for e in bad.json()["errors"]] == [
        ("orderNumber", "FIELD_NOT_UPDATABLE"),
        ("toAddress.countryCode", "INVALID_COUNTRY_CODE"),
    ]
    assert (await canonical(client, tenant, body["orderNumber"]))["version"] == 2


async def test_patch_keeps_what_pb_does_not_carry(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """An order made on /v1, with a GTIN and tags, patched through PB keeps them."""
    ref = "V1-" + uuid.uuid4().hex[:8]
    v1 = {
        "order_ref": ref,
        "currency": "USD",
        "tags": ["vip"],
        "shipping_address": {
            "line1": "1 Elm St",
            "city": "Springfield",
            "country": "US",
            "postal_code": "62701",
            "region": "IL",
        },
        "items": [{"line_id": "A", "sku": "S1", "gtin": "4006381333931", "quantity": 2}],
    }
    created = await client.post("/v1/orders", json=v1, headers=tenant.headers)
    assert created.status_code == 201, created.text
    pb_id = ids.order_id(tenant.org.number, created.json()["number"])
    # fromAddress is required by PB; a /v1 order may have none: the patch supplies it
    patch = {
        "fromAddress": {"addressLine1": "2 Oak St", "cityTown": "Paris", "countryCode": "FR"},
        "items": [{"sku": "S1", "quantity": 5}],
    }
    r = await send(client, tenant, "PATCH", f"{URL}/{pb_id}", patch)
    assert r.status_code == 200, r.text
    order = await canonical(client, tenant, ref)
    assert order["tags"] == ["vip"]
    assert order["items"][0]["line_id"] == "A"
    assert order["items"][0]["gtin"] == "4006381333931"
    assert order["items"][0]["quantity"] == 5


async def test_delete_cancels_and_a_fulfilled_order_cannot_be_deleted(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = example()
    order_id = (await create(client, tenant, body)).json()["orderId"]
    r = await send(client, tenant, "DELETE", f"{URL}/{order_id}")
    assert r.status_code == 200, r.text
    assert r.json()["orderStatus"] == "CANCELLED"
    order = await canonical(client, tenant, body["orderNumber"])
    assert order["cancellation"]["reason"] == "other"
    again = await send(client, tenant, "DELETE", f"{URL}/{order_id}")
    assert again.status_code == 200
    assert (await canonical(client, tenant, body["orderNumber"]))["version"] == order["version"]

    other = example()
    other_id = (await create(client, tenant, other)).json()["orderId"]
    stored = await canonical(client, tenant, other["orderNumber"])
    done = await client.post(
        f"/v1/orders/{stored['id']}/fulfillments", json={}, headers=tenant.headers
    )
    assert done.status_code == 200, done.text
    refused = await send(client, tenant, "DELETE", f"{URL}/{other_id}")
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["errorCode"] == "INVALID_ORDER_STATE"
    got = await client.get(f"{URL}/{other_id}", headers=tenant.headers)
    assert got.json()["orderStatus"] == "FULFILLED"


async def test_unknown_ids_and_other_organisations(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    order_id = (await create(client, tenant, example())).json()["orderId"]
    for bad in ("PB0000000000", "nope", order_id + "x", "PB!!!!!!!!!!"):
        r = await client.get(f"{URL}/{bad}", headers=tenant.headers)
        assert r.status_code == 404, bad
        assert r.json()["errors"][0]["errorCode"] == "ORDER_NOT_FOUND"
    hidden = await client.get(f"{URL}/{order_id}", headers=other_tenant.headers)
    assert hidden.status_code == 404
    gone = await send(client, other_tenant, "DELETE", f"{URL}/{order_id}")
    assert gone.status_code == 404


async def test_credentials(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = orjson.dumps(example())
    missing = await client.post(URL, content=body, headers={"Content-Type": "application/json"})
    assert missing.status_code == 401
    assert missing.json() == {
        "errors": [
            {"errorCode": "UNAUTHORIZED", "errorDescription": "The request could not be authorized"}
        ]
    }
    wrong = await client.get(f"{URL}/PB0000000001", headers={"Authorization": "Bearer og_x.y"})
    assert wrong.status_code == 401
    key_id, secret = tenant.token.split(".", 1)
    basic = await client.post(
        URL, content=body, headers={"Content-Type": "application/json"}, auth=(key_id, secret)
    )
    assert basic.status_code == 200, basic.text


async def test_bad_bodies(client: httpx.AsyncClient, tenant: Tenant) -> None:
    broken = await create(client, tenant, b'{"orderNumber": ')
    assert broken.status_code == 400
    assert broken.json()["errors"][0]["errorCode"] == "INVALID_REQUEST_BODY"
    listed = await create(client, tenant, [example()])
    assert listed.status_code == 400
    nul = await create(client, tenant, example(orderNumber="A\x00B"))
    assert nul.json()["errors"][0]["additionalInfo"] == "orderNumber"
    typed = await client.post(
        URL, content=b"x", headers={**tenant.headers, "Content-Type": "text/plain"}
    )
    assert typed.status_code == 415


# --- found in review -----------------------------------------------------------------------


def minimal(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "orderNumber": "MIN-" + uuid.uuid4().hex[:10],
        "fromAddress": {"addressLine1": "2 Oak St", "cityTown": "Paris", "countryCode": "FR"},
        "toAddress": {"addressLine1": "1 Elm St", "cityTown": "Berlin", "countryCode": "DE"},
        "items": [{"sku": "A", "quantity": 1}],
    }
    body.update(changes)
    return body


async def test_huge_numbers_in_kept_json_are_client_errors(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    raw = orjson.dumps(minimal()).replace(
        b'"items"', b'"shippingPreferences":{"x":18446744073709551616},"items"'
    )
    r = await create(client, tenant, raw)
    assert r.status_code == 200, r.text  # a big whole number is kept exactly
    got = await client.get(f"{URL}/{r.json()['orderId']}", headers=tenant.headers)
    assert b'"x":18446744073709551616' in got.content
    tiny = orjson.dumps(minimal()).replace(
        b'"items"', b'"shippingPreferences":{"x":1e-400},"items"'
    )
    r = await create(client, tenant, tiny)
    assert r.status_code == 400
    assert r.json()["errors"][0]["additionalInfo"] == "shippingPreferences"


async def test_pb_keys_set_through_v1_do_not_break_pb_routes(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ref = "V1-" + uuid.uuid4().hex[:8]
    v1 = {
        "order_ref": ref,
        "metadata": {
            "pb_charges_gmv": "abc",
            "pb_additional_addresses": "not json",
            "pb_shipping_preferences": 5,
            "pb_secret": "s",
            "erp_1": "a",
            "x_": 1,
            "cost_center": "cc",
        },
        "items": [{"sku": "S1"}],
    }
    created = await client.post("/v1/orders", json=v1, headers=tenant.headers)
    assert created.status_code == 201, created.text
    pb_id = ids.order_id(tenant.org.number, created.json()["number"])
    got = await client.get(f"{URL}/{pb_id}", headers=tenant.headers)
    assert got.status_code == 200
    view = got.json()
    assert view["metadata"] == [{"name": "costCenter", "value": "cc"}]
    patch = {
        "fromAddress": {"addressLine1": "2 Oak St", "cityTown": "Paris", "countryCode": "FR"},
        "toAddress": {"addressLine1": "1 Elm St", "cityTown": "Berlin", "countryCode": "DE"},
        "metadata": [{"name": "costCenter", "value": "dd"}],
    }
    r = await send(client, tenant, "PATCH", f"{URL}/{pb_id}", patch)
    assert r.status_code == 200, r.text
    order = await canonical(client, tenant, ref)
    assert order["metadata"]["cost_center"] == "dd"
    for kept in ("pb_secret", "erp_1", "x_"):  # PB cannot name them: they stay
        assert order["metadata"][kept] == v1["metadata"][kept]
    deleted = await send(client, tenant, "DELETE", f"{URL}/{pb_id}")
    assert deleted.status_code == 200


async def test_an_empty_patch_changes_nothing(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = minimal()
    first = (await create(client, tenant, body)).json()
    r = await send(client, tenant, "PATCH", f"{URL}/{first['orderId']}", {})
    assert r.status_code == 200, r.text
    view = r.json()
    sent_back = await send(client, tenant, "PATCH", f"{URL}/{first['orderId']}", view)
    assert sent_back.status_code == 200, sent_back.text
    assert (await canonical(client, tenant, body["orderNumber"]))["version"] == 1
    again = await create(client, tenant, body)
    assert again.json() == first  # still the same order as created


async def test_a_new_currency_reaches_the_lines(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = minimal(charges={"currency": "JPY"}, items=[{"sku": "A", "unitPrice": 100}])
    order_id = (await create(client, tenant, body)).json()["orderId"]
    r = await send(
        client,
        tenant,
        "PATCH",
        f"{URL}/{order_id}",
        {"charges": {"currency": "KWD"}, "items": [{"sku": "A", "unitPrice": 1.234}]},
    )
    assert r.status_code == 200, r.text
    order = await canonical(client, tenant, body["orderNumber"])
    assert (order["items"][0]["currency"], order["items"][0]["unit_price"]) == ("KWD", "1.234")


@pytest.mark.parametrize(
    ("change", "path", "code"),
    [
        (
            lambda b: b["toAddress"].update(postalCode="   "),
            "toAddress.postalCode",
            "MISSING_REQUIRED_FIELD",
        ),
        (
            lambda b: b["toAddress"].update(stateProvince=" "),
            "toAddress.stateProvince",
            "MISSING_REQUIRED_FIELD",
        ),
        (lambda b: b.update(charges=""), "charges", "INVALID_FIELD_TYPE"),
        (lambda b: b.update(metadata="  "), "metadata", "INVALID_FIELD_TYPE"),
        (
            lambda b: b["toAddress"].update(residential=""),
            "toAddress.residential",
            "INVALID_FIELD_TYPE",
        ),
        (lambda b: b["items"][0].update(quantity=""), "items[0].quantity", "INVALID_FIELD_TYPE"),
        (lambda b: b["charges"].update(gmv=1.005), "charges.gmv", "INVALID_FIELD_VALUE"),
        (
            lambda b: b.update(metadata=[{"name": "ok", "value": "x" * 1001}]),
            "metadata[0].value",
            "INVALID_FIELD_VALUE",
        ),
    ],
)
async def test_more_invalid_fields(
    client: httpx.AsyncClient, tenant: Tenant, change: Any, path: str, code: str
) -> None:
    body = example()
    change(body)
    r = await create(client, tenant, body)
    assert r.status_code == 400, r.text
    assert [(e["additionalInfo"], e["errorCode"]) for e in r.json()["errors"]] == [(path, code)]


async def test_every_bad_metadata_entry_is_listed(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = example(
        metadata=[
            {"name": "bad name", "value": 1},
            {"name": "ok", "value": 1e300},
            {"name": "ok2", "value": "x" * 1001},
        ]
    )
    r = await create(client, tenant, body)
    assert [e["additionalInfo"] for e in r.json()["errors"]] == [
        "metadata[0].name",
        "metadata[1].value",
        "metadata[2].value",
    ]


async def test_same_content_does_not_depend_on_formatting(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = minimal(
        charges={"subTotal": 90, "gmv": 100},
        shippingPreferences={"a": 1.5, "b": [1, 2]},
        items=[{"sku": "A", "unitPrice": 30}],
    )
    first = (await create(client, tenant, body)).json()
    raw = (
        orjson.dumps(body)
        .replace(b'"subTotal":90', b'"subTotal":90.0')
        .replace(b'"gmv":100', b'"gmv":100.00')
        .replace(b'{"a":1.5,"b":[1,2]}', b'{"b":[1,2],"a":1.50}')
        .replace(b'"unitPrice":30', b'"unitPrice":30.0')
    )
    again = await create(client, tenant, raw)
    assert again.status_code == 200, again.text
    assert again.json() == first


async def test_a_conflict_names_pb_fields(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = example()
    await create(client, tenant, body)
    changed = copy.deepcopy(body)
    changed["customerInfo"]["firstName"] = "Janet"
    changed["items"][1]["description"] = "Fork"
    changed["toAddress"]["addressLine3"] = "Front door"
    changed["charges"]["billingStatus"] = "Due"
    changed["shippingPreferences"] = {"service": "ECONOMY"}
    r = await create(client, tenant, changed)
    description = r.json()["errors"][0]["errorDescription"]
    for path in (
        "customerInfo.firstName",
        "items[1].description",
        "toAddress.addressLine3",
        "charges.billingStatus",
        "shippingPreferences",
    ):
        assert path in description, path
    assert "metadata" not in description


async def test_both_product_id_and_sku_are_kept(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = minimal(items=[{"customProductId": "P-1", "sku": "S-1", "quantity": 1}])
    order_id = (await create(client, tenant, body)).json()["orderId"]
    view = (await client.get(f"{URL}/{order_id}", headers=tenant.headers)).json()
    assert (view["items"][0]["customProductId"], view["items"][0]["sku"]) == ("P-1", "S-1")
    bad = await create(client, tenant, [1])
    assert bad.json() == {
        "errors": [
            {
                "errorCode": "INVALID_FIELD_TYPE",
                "errorDescription": "The request body must be a JSON object",
            }
        ]
    }
