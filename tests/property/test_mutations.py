"""Any mutation of a valid payload, through /v1 and each dialect, is either accepted or
refused in that door's own error format, naming the fields (JSON pointers on /v1, the
vendor's paths on a dialect); never a 500. On SQLite and PostgreSQL.

Each example starts from a valid body with a fresh reference, then replaces values (with
odd JSON: huge or tiny numbers, NaN, NUL, nested arrays), removes members or adds some.
"""

from __future__ import annotations

import copy
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import factories
from tests.conftest import Tenant
from tests.property.strategies import mutated

EXAMPLES = int(os.environ.get("ORDERGATE_PROPERTY_EXAMPLES", "60"))


def _problem(status: int, body: Any) -> None:
    if status >= 400:
        assert body["status"] == status
    if status == 422:
        assert body["errors"], body
        for e in body["errors"]:
            assert e["pointer"] == "" or e["pointer"].startswith("/"), e
            assert e["code"], e
            assert e["detail"], e


def _reevoo(status: int, body: Any) -> None:
    assert body["status"] == status
    if status == 422:
        assert body["message"] in ("Invalid customer order", "No data provided"), body
        assert all(isinstance(m, str) and m for m in body["errors"]), body
        assert body["errors"] or body["message"] == "No data provided", body


def _dropday(status: int, body: Any) -> None:
    if status == 422:
        assert body["message"] == "Errors"
        assert body["errors"], body
        for path, messages in body["errors"].items():
            assert path, body
            assert messages, body
            assert all(isinstance(m, str) for m in messages), body


def _parcellab(status: int, body: Any) -> None:
    if status == 400:
        assert body["type"] == "client_error"
        assert body["errors"], body
        for e in body["errors"]:
            assert e["code"], e
            assert e["detail"], e
            assert e["attr"] is None or (isinstance(e["attr"], str) and e["attr"]), e


def _pitneybowes(status: int, body: Any) -> None:
    if status == 400:
        assert body["errors"], body
        for e in body["errors"]:
            assert e["errorCode"], e
            assert e["errorDescription"], e
            assert "additionalInfo" not in e or isinstance(e["additionalInfo"], str), e


@dataclass(frozen=True)
class Door:
    method: str
    path: str
    ref_field: str
    base: Callable[[Tenant], dict[str, Any]]
    statuses: frozenset[int]
    check: Callable[[int, Any], None]


def _reevoo_body(tenant: Tenant) -> dict[str, Any]:
    return {
        "trkref": tenant.org.trkref,
        "order_ref": "ABC123",
        "order_date": "10-12-2014",
        "fulfilment_date": "24-12-2014",
        "language": "en",
        "locale": "en-GB",
        "customer": {
            "email": "hello@example.com",
            "customer_ref": "1122",
            "title": "MR",
            "first_name": "John",
            "surname": "Brown",
            "postcode": "1122",
            "country": "GB",
        },
        "order_items": [
            {"sku": "PROD1", "price": "55,99", "currency": "GBP", "metadata": {"field_1": "V"}},
            {"sku": "PROD2", "price": 10, "currency": "GBP"},
        ],
    }


def _dropday_body(tenant: Tenant) -> dict[str, Any]:
    return {
        "external_id": "X",
        "source": "Shop",
        "test": False,
        "total": 12.5,
        "shipping_cost": "2.50",
        "email": "a@example.com",
        "shipping_address": {
            "first_name": "A",
            "last_name": "B",
            "company_name": "C",
            "address1": "1 High St",
            "address2": "",
            "postcode": "SW1A 1AA",
            "city": "London",
            "state": None,
            "country": "GB",
            "phone": "+44 20 7946 0000",
        },
        "products": [
            {
                "external_id": "P1",
                "reference": "SKU-1",
                "ean13": "07235211235464",
                "name": "Tea",
                "quantity": 2,
                "price": 5,
                "image_url": "https://example.com/tea.png",
                "custom": {"colour": "green"},
            }
        ],
    }


def _parcellab_body(tenant: Tenant) -> dict[str, Any]:
    return {
        "external_reference": "X",
        "order_number": "1001",
        "client_key": "shop",
        "destination_country_iso3": "DEU",
        "language_iso2": "de",
        "recipient_email": "a@example.com",
        "recipient_name": "Anna Berg",
        "order_total_amount": "99.90",
        "order_currency": "EUR",
        "order_date": "2024-03-01T10:00:00Z",
        "announced_delivery_date": "2024-03-05",
        "tags": ["category:tea"],
        "articles_order": [
            {"line_item_id": "1", "sku": "S1", "article_name": "Tea", "quantity": 2},
        ],
        "shipping_address": {
            "address_line": "Hauptstr. 1",
            "postal_code": "10115",
            "city": "Berlin",
            "country_iso3": "DEU",
        },
        "additional_attributes": {"erp_id": "7"},
        "mutations": [
            {"type": "add_tracking", "tracking": {"tracking_number": "T1", "courier": "dhl"}}
        ],
    }


def _pitneybowes_body(tenant: Tenant) -> dict[str, Any]:
    address = {
        "name": "Ann",
        "addressLine1": "1 Main St",
        "cityTown": "Toronto",
        "stateProvince": "ON",
        "postalCode": "M5V 2T6",
        "countryCode": "CA",
    }
    return {
        "orderNumber": "X",
        "orderMessage": {"type": "gift", "message": "Hi"},
        "metadata": [{"name": "erp", "value": "7"}],
        "charges": {"currency": "CAD", "totalPaid": 12.5, "paymentType": "Credit Card"},
        "customerInfo": {"firstName": "Ann", "email": "ann@example.com"},
        "fromAddress": address,
        "toAddress": address,
        "items": [{"sku": "S1", "name": "Tea", "quantity": 2, "unitPrice": 6.25}],
    }


DOORS = {
    "v1": Door(
        "POST",
        "/v1/orders",
        "order_ref",
        lambda t: factories.full_order(),
        frozenset({200, 201, 400, 409, 422}),
        _problem,
    ),
    "reevoo": Door(
        "POST",
        "/reevoo/v4/organisations/{trkref}/customer_order",
        "order_ref",
        _reevoo_body,
        frozenset({202, 400, 422}),
        _reevoo,
    ),
    "dropday": Door(
        "POST",
        "/dropday/api/v1/orders",
        "external_id",
        _dropday_body,
        frozenset({200, 422}),
        _dropday,
    ),
    "parcellab": Door(
        "PUT",
        "/parcellab/v4/track/orders/",
        "external_reference",
        _parcellab_body,
        frozenset({200, 201, 400}),
        _parcellab,
    ),
    "pitneybowes": Door(
        "POST",
        "/pitneybowes/api/v1/orders",
        "orderNumber",
        _pitneybowes_body,
        frozenset({200, 400}),
        _pitneybowes,
    ),
}


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    # the client and the tenant are shared by the examples: each uses a new reference
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(door=st.sampled_from(sorted(DOORS)), data=st.data())
async def test_a_mutated_payload_is_accepted_or_refused_with_paths(
    client: httpx.AsyncClient, tenant: Tenant, door: str, data: st.DataObject
) -> None:
    spec = DOORS[door]
    body = spec.base(tenant)
    body[spec.ref_field] = "MUT-" + secrets.token_hex(6)
    sent = data.draw(mutated(copy.deepcopy(body)), label="body")
    response = await client.request(
        spec.method,
        spec.path.format(trkref=tenant.org.trkref),
        content=orjson.dumps(sent),
        headers={**tenant.headers, "Content-Type": "application/json"},
    )
    assert response.status_code in spec.statuses, (response.status_code, response.text)
    spec.check(response.status_code, response.json())


async def test_each_base_payload_is_accepted(client: httpx.AsyncClient, tenant: Tenant) -> None:
    """The mutations start from bodies that each door accepts as they are."""
    for name, spec in DOORS.items():
        body = spec.base(tenant)
        body[spec.ref_field] = "BASE-" + secrets.token_hex(6)
        response = await client.request(
            spec.method,
            spec.path.format(trkref=tenant.org.trkref),
            json=body,
            headers=tenant.headers,
        )
        assert response.status_code < 300, (name, response.text)
