"""The parcellab dialect: parcelLab Trackings/Orders API v4 — create-or-update with merge,
create-only, mutations, DRF's standardised errors, cursor pagination, get by id."""

from __future__ import annotations

import asyncio
import base64
import copy
import uuid
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
import pytest
import sqlalchemy as sa

from ordergate.events.tables import events
from tests.conftest import Tenant, add_key

URL = "/parcellab/v4/track/orders/"

# A full order in parcelLab's shape (field names as in the vendor's docs and working payloads).
EXAMPLE: dict[str, Any] = {
    "order_number": "1001",
    "external_reference": "ERP-1001",
    "client_key": "mybrand-a.com",
    "destination_country_iso3": "DEU",
    "language_iso2": "de",
    "delivery_method": "standard shipping",
    "recipient_email": "Jane.Doe@Example.com",
    "recipient_name": "Jane Doe",
    "customer_number": "C-77",
    "invoice_number": "INV-1001",
    "payment_method": "credit card",
    "order_total_amount": "119.00",
    "order_tax_amount": "19.00",
    "order_net_amount": "100.00",
    "order_discount_amount": "0",
    "order_currency": "EUR",
    "order_date": "2026-06-16T10:30:00Z",
    "channel": "webshop",
    "announced_delivery_date": "2026-06-19",
    "announced_delivery_date_min": "2026-06-18",
    "announced_delivery_date_max": "2026-06-20",
    "timezone": "Europe/Berlin",
    "order_status": "Processing",
    "has_multiple_shipments": False,
    "tags": ["category:Home Apparel", "vip:yes"],
    "articles_order": [
        {
            "line_item_id": "L1",
            "sku": "SHIRT-M",
            "article_name": "Shirt",
            "quantity": 2,
            "unit_price": "39.50",
            "article_image_url": "https://img.example.com/shirt.png",
            "article_category": "Apparel",
        },
        {"line_item_id": "L2", "sku": "SOCKS", "article_name": "Socks", "quantity": 1},
    ],
    "shipping_address": {
        "first_name": "Jane",
        "last_name": "Doe",
        "address_line": "Hauptstr. 1",
        "postal_code": "10115",
        "city": "Berlin",
        "country_iso3": "DEU",
    },
    "additional_attributes": {"gift_wrap": True, "campaign": "summer"},
}


def headers(tenant: Tenant) -> dict[str, str]:
    """parcelLab's own credential form."""
    return {"Authorization": f"Parcellab-API-Token {tenant.token}"}


def example(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(EXAMPLE)
    body["external_reference"] = "ERP-" + uuid.uuid4().hex[:10]
    body.update(changes)
    return body


async def put(client: httpx.AsyncClient, tenant: Tenant, body: Any) -> httpx.Response:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    h = {**headers(tenant), "Content-Type": "application/json"}
    return await client.put(URL, content=content, headers=h)


async def post(client: httpx.AsyncClient, tenant: Tenant, body: Any) -> httpx.Response:
    h = {**headers(tenant), "Content-Type": "application/json"}
    return await client.post(URL, content=orjson.dumps(body), headers=h)


async def canonical(client: httpx.AsyncClient, tenant: Tenant, ref: str) -> dict[str, Any]:
    r = await client.get(f"/v1/orders/by-ref/{ref}", headers=tenant.headers)
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def events_of(client: httpx.AsyncClient, tenant: Tenant, order_id: str) -> list[str]:
    """The order's events as written (the outbox table itself: the feed may hold back the
    newest while another transaction on the server is still open)."""
    app = client._transport.app  # type: ignore[attr-defined]
    query = (
        sa.select(events.c.type)
        .where(events.c.organisation_id == tenant.org.id, events.c.order_id == uuid.UUID(order_id))
        .order_by(events.c.seq)
    )
    async with app.state.db.read() as conn:
        return [row.type for row in await conn.execute(query)]


def ok(results: list[dict[str, Any]]) -> list[bool]:
    return [m["result"]["success"] for m in results]


# --- create, update, repeat ----------------------------------------------------------------


async def test_put_creates_a_normal_order(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = example()
    r = await put(client, tenant, body)
    assert r.status_code == 201, r.text
    answer = r.json()
    assert answer == {"external_id": answer["external_id"], "order_number": "1001", "mutations": []}
    assert r.headers["Submission-Id"]

    order = await canonical(client, tenant, body["external_reference"])
    assert order["id"] == answer["external_id"]
    assert order["submitted_via"] == "parcellab"
    assert (order["order_number"], order["source"], order["channel"]) == (
        "1001",
        "mybrand-a.com",
        "webshop",
    )
    assert order["shipping_address"]["country"] == "DE"
    assert order["shipping_address"]["name"] == "Jane Doe"
    assert order["customer"]["email"] == "Jane.Doe@example.com"
    assert order["customer"]["customer_ref"] == "C-77"
    assert order["totals"] == {
        "total": "119.00",
        "subtotal": "100.00",
        "shipping": None,
        "tax": "19.00",
        "discount": "0.00",
    }
    assert order["promised_delivery"] == {
        "date": "2026-06-19",
        "earliest": "2026-06-18",
        "latest": "2026-06-20",
    }
    assert order["placed_at"] == "2026-06-16T10:30:00Z"
    assert order["tags"] == ["category:Home Apparel", "vip:yes"]
    assert order["metadata"] == {
        "gift_wrap": True,
        "campaign": "summer",
        "parcellab_order_status": "Processing",
    }
    assert [(i["line_id"], i["sku"], i["quantity"], i["unit_price"]) for i in order["items"]] == [
        ("L1", "SHIRT-M", 2, "39.50"),
        ("L2", "SOCKS", 1, None),
    ]
    assert await events_of(client, tenant, order["id"]) == ["order.created"]

    shown = await client.get(f"{URL}{order['id']}/", headers=headers(tenant))
    assert shown.status_code == 200
    view = shown.json()
    for key in (
        "order_number",
        "external_reference",
        "client_key",
        "destination_country_iso3",
        "language_iso2",
        "recipient_name",
        "order_total_amount",
        "order_tax_amount",
        "order_net_amount",
        "order_currency",
        "announced_delivery_date_min",
        "timezone",
        "order_status",
        "tags",
        "additional_attributes",
    ):
        assert view[key] == body[key], key
    assert view["external_id"] == order["id"]
    assert view["account"] == tenant.org.number
    assert view["recipient_email"] == "Jane.Doe@example.com"
    assert view["shipping_address"]["country_iso3"] == "DEU"
    assert (view["shipping_address"]["first_name"], view["shipping_address"]["last_name"]) == (
        "Jane",
        "Doe",
    )
    assert view["articles_order"][0]["article_image_url"] == "https://img.example.com/shirt.png"
    assert view["trackings"] == []


async def test_sending_what_a_get_returned_changes_nothing(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = example()
    created = (await put(client, tenant, body)).json()
    view = (await client.get(f"{URL}{created['external_id']}/", headers=headers(tenant))).json()
    again = await put(client, tenant, view)
    assert again.status_code == 200, again.text
    order = await canonical(client, tenant, body["external_reference"])
    assert order["version"] == 1


async def test_the_same_body_twice_changes_nothing(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = example(
        mutations=[
            {
                "type": "add_tracking",
                "tracking": {
                    "tracking_number": "T1",
                    "courier": "dhl-germany",
                    "articles": [{"line_item_id": "L1", "quantity": 1}],
                },
            },
            {"type": "change_line_item_quantity", "line_item_id": "L2", "quantity": 3},
        ]
    )
    first = await put(client, tenant, body)
    assert first.status_code == 201, first.text
    assert ok(first.json()["mutations"]) == [True, True]
    before = await canonical(client, tenant, body["external_reference"])
    events_before = await events_of(client, tenant, before["id"])

    second = await put(client, tenant, body)
    assert second.status_code == 200
    assert ok(second.json()["mutations"]) == [True, True]
    after = await canonical(client, tenant, body["external_reference"])
    assert after["version"] == before["version"]
    assert after["updated_at"] == before["updated_at"]
    assert await events_of(client, tenant, after["id"]) == events_before


async def test_a_partial_body_changes_only_the_fields_sent(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = example()
    await put(client, tenant, body)
    before = await canonical(client, tenant, body["external_reference"])
    r = await put(
        client,
        tenant,
        {
            "external_reference": body["external_reference"],
            "recipient_name": "Jane Roe",
            "order_total_amount": "120.50",
            "additional_attributes": {"campaign": None, "channel_partner": "x"},
            "articles_order": [{"line_item_id": "L1", "quantity": 5}],
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["order_number"] == "1001"
    after = await canonical(client, tenant, body["external_reference"])
    assert after["version"] == before["version"] + 1
    assert after["shipping_address"]["name"] == "Jane Roe"
    assert after["shipping_address"]["line1"] == "Hauptstr. 1"
    assert after["totals"]["total"] == "120.50"
    assert after["totals"]["tax"] == "19.00"
    assert after["customer"] == before["customer"]
    assert after["tags"] == before["tags"]
    assert after["metadata"] == {
        "gift_wrap": True,
        "channel_partner": "x",
        "parcellab_order_status": "Processing",
    }
    # the article list is replaced; the line that stays keeps what was not sent
    assert [(i["line_id"], i["sku"], i["quantity"], i["unit_price"]) for i in after["items"]] == [
        ("L1", "SHIRT-M", 5, "39.50")
    ]
    assert await events_of(client, tenant, after["id"]) == ["order.created", "order.updated"]
    # "_unset" clears the email
    await put(
        client,
        tenant,
        {"external_reference": body["external_reference"], "recipient_email": "_unset"},
    )
    cleared = await canonical(client, tenant, body["external_reference"])
    assert cleared["customer"]["email"] is None
    assert cleared["customer"]["customer_ref"] == "C-77"


async def test_order_number_is_the_key_without_an_external_reference(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    number = "N-" + uuid.uuid4().hex[:8]
    body = example(order_number=number)
    del body["external_reference"]
    assert (await put(client, tenant, body)).status_code == 201
    again = await put(client, tenant, {"order_number": number, "channel": "app"})
    assert again.status_code == 200, again.text
    order = await canonical(client, tenant, number)
    assert (order["order_number"], order["channel"], order["version"]) == (number, "app", 2)


async def test_post_creates_only(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = example()
    r = await post(client, tenant, body)
    assert r.status_code == 201, r.text
    again = await post(client, tenant, {**body, "channel": "other"})
    assert again.status_code == 400
    assert again.json() == {
        "type": "client_error",
        "errors": [
            {
                "code": "unique",
                "detail": "order with this external reference already exists.",
                "attr": "external_reference",
            }
        ],
    }
    order = await canonical(client, tenant, body["external_reference"])
    assert (order["channel"], order["version"]) == ("webshop", 1)


async def test_tenants_are_isolated(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    body = example()
    mine = (await put(client, tenant, body)).json()
    theirs = await put(client, other_tenant, body)
    assert theirs.status_code == 201  # the same reference is another organisation's own order
    assert theirs.json()["external_id"] != mine["external_id"]
    hidden = await client.get(f"{URL}{mine['external_id']}/", headers=headers(other_tenant))
    assert hidden.status_code == 404
    assert hidden.json()["errors"][0]["code"] == "not_found"


# --- mutations ---------------------------------------------------------------------------------


async def test_cancel_order(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = example()
    await put(client, tenant, body)
    cancel = {
        "external_reference": body["external_reference"],
        "mutations": [{"type": "cancel_order", "cancelled_reason": "inventory"}],
    }
    r = await put(client, tenant, cancel)
    assert r.status_code == 200, r.text
    assert r.json()["mutations"] == [
        {"type": "cancel_order", "result": {"success": True, "message": "The order was cancelled."}}
    ]
    order = await canonical(client, tenant, body["external_reference"])
    assert order["status"] == "cancelled"
    assert order["cancellation"]["reason"] == "inventory"
    assert order["cancellation"]["cancelled_at"] == order["updated_at"]  # defaults to now
    again = await put(client, tenant, cancel)
    assert ok(again.json()["mutations"]) == [True]
    assert (await canonical(client, tenant, body["external_reference"]))["version"] == order[
        "version"
    ]
    view = (await client.get(f"{URL}{order['id']}/", headers=headers(tenant))).json()
    assert (view["order_status"], view["cancelled_reason"]) == ("Cancelled", "inventory")
    assert await events_of(client, tenant, order["id"]) == ["order.created", "order.cancelled"]


async def test_cancel_order_with_a_date_and_a_top_level_reason(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = example(
        cancelled_reason="payment",
        mutations=[{"type": "cancel_order", "cancelled_date": "2026-06-17T08:00:00+02:00"}],
    )
    r = await put(client, tenant, body)
    assert r.status_code == 201, r.text
    order = await canonical(client, tenant, body["external_reference"])
    assert order["cancellation"]["reason"] == "payment"
    assert order["cancellation"]["cancelled_at"] == "2026-06-17T06:00:00Z"


async def test_a_fulfilled_order_cannot_be_cancelled(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    track = {"type": "add_tracking", "tracking": {"tracking_number": "T9", "courier": "dhl"}}
    body = example(mutations=[track, {"type": "cancel_order"}])
    r = await put(client, tenant, body)
    assert r.status_code == 201
    results = r.json()["mutations"]
    assert ok(results) == [True, False]
    assert results[1]["result"]["message"] == (
        "The order is fulfilled and can no longer be cancelled."
    )
    order = await canonical(client, tenant, body["external_reference"])
    assert order["status"] == "fulfilled"
    assert order["fulfillments"][0]["tracking"] == {"carrier": "dhl", "number": "T9", "url": None}


async def test_add_tracking_for_some_articles_then_the_rest(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = example()
    await put(client, tenant, body)
    ref = body["external_reference"]

    def tracking(number: str, articles: list[dict[str, Any]] | None) -> dict[str, Any]:
        t: dict[str, Any] = {"tracking_number": number, "courier": "ups"}
        if articles is not None:
            t["articles"] = articles
        return {"external_reference": ref, "mutations": [{"type": "add_tracking", "tracking": t}]}

    r = await put(client, tenant, tracking("P1", [{"line_item_id": "L1", "quantity": 1}]))
    assert ok(r.json()["mutations"]) == [True]
    assert (await canonical(client, tenant, ref))["status"] == "partially_fulfilled"

    unknown = await put(client, tenant, tracking("P2", [{"line_item_id": "NOPE"}]))
    assert unknown.json()["mutations"][0]["result"] == {
        "success": False,
        "message": "The order has no article with line_item_id 'NOPE'.",
    }
    too_many = await put(client, tenant, tracking("P2", [{"line_item_id": "L1", "quantity": 5}]))
    assert ok(too_many.json()["mutations"]) == [False]
    assert "L1" in too_many.json()["mutations"][0]["result"]["message"]

    rest = await put(client, tenant, tracking("P2", None))  # no articles: everything left
    assert ok(rest.json()["mutations"]) == [True]
    order = await canonical(client, tenant, ref)
    assert order["status"] == "fulfilled"
    assert [f["items"] for f in order["fulfillments"]] == [
        [{"line_id": "L1", "quantity": 1}],
        [{"line_id": "L1", "quantity": 1}, {"line_id": "L2", "quantity": 1}],
    ]
    view = (await client.get(f"{URL}{order['id']}/", headers=headers(tenant))).json()
    assert [(t["tracking_number"], t["courier"]) for t in view["trackings"]] == [
        ("P1", "ups"),
        ("P2", "ups"),
    ]
    late = await put(client, tenant, tracking("P3", None))
    assert ok(late.json()["mutations"]) == [False]
    assert await events_of(client, tenant, order["id"]) == [
        "order.created",
        "order.fulfilled",
        "order.fulfilled",
    ]


async def test_change_line_item_quantity(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = example()
    await put(client, tenant, body)
    ref = body["external_reference"]

    def change(line: str, quantity: int) -> dict[str, Any]:
        m = {"type": "change_line_item_quantity", "line_item_id": line, "quantity": quantity}
        return {"external_reference": ref, "mutations": [m]}

    r = await put(client, tenant, change("L1", 4))
    assert r.json()["mutations"][0]["result"] == {
        "success": True,
        "message": "The quantity of article 'L1' is now 4.",
    }
    assert (await canonical(client, tenant, ref))["items"][0]["quantity"] == 4
    missing = await put(client, tenant, change("L9", 1))
    assert ok(missing.json()["mutations"]) == [False]
    # below what has shipped: refused, nothing changes
    ship = {
        "type": "add_tracking",
        "tracking": {
            "tracking_number": "S1",
            "courier": "dpd",
            "articles": [{"line_item_id": "L1", "quantity": 3}],
        },
    }
    await put(client, tenant, {"external_reference": ref, "mutations": [ship]})
    below = await put(client, tenant, change("L1", 2))
    assert ok(below.json()["mutations"]) == [False]
    order = await canonical(client, tenant, ref)
    assert order["items"][0]["quantity"] == 4
    # down to what has shipped: that line is done
    done = await put(client, tenant, change("L1", 3))
    assert ok(done.json()["mutations"]) == [True]


async def test_mixed_mutations_apply_independently_with_the_order_fields(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = example()
    await put(client, tenant, body)
    r = await put(
        client,
        tenant,
        {
            "external_reference": body["external_reference"],
            "channel": "marketplace",
            "mutations": [
                {"type": "change_line_item_quantity", "line_item_id": "L2", "quantity": 2},
                {"type": "change_line_item_quantity", "line_item_id": "ZZ", "quantity": 2},
                {"type": "cancel_tracking"},
                {
                    "type": "add_tracking",
                    "tracking": {
                        "tracking_number": "M1",
                        "courier": "gls",
                        "articles": [{"line_item_id": "L2"}],
                    },
                },
            ],
        },
    )
    assert r.status_code == 200, r.text
    assert ok(r.json()["mutations"]) == [True, False, False, True]
    assert [m["type"] for m in r.json()["mutations"]] == [
        "change_line_item_quantity",
        "change_line_item_quantity",
        "cancel_tracking",
        "add_tracking",
    ]
    order = await canonical(client, tenant, body["external_reference"])
    assert order["channel"] == "marketplace"
    assert order["items"][1]["quantity"] == 2
    assert order["fulfillments"][0]["items"] == [{"line_id": "L2", "quantity": 2}]
    assert order["status"] == "partially_fulfilled"
    sub = await client.get(f"/v1/submissions/{r.headers['Submission-Id']}", headers=tenant.headers)
    assert sub.json()["dialect"] == "parcellab"
    assert [e["attr"] for e in sub.json()["errors"]] == ["mutations.1", "mutations.2"]


# --- validation ---------------------------------------------------------------------------------


def _drop(*keys: str) -> Any:
    def change(body: dict[str, Any]) -> None:
        for key in keys:
            body.pop(key)

    return change


def _money(name: str, value: str) -> tuple[Any, list[tuple[str, str, str]]]:
    return (lambda b: b.update({name: value}), [("invalid", "Enter a valid value.", name)])


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda b: b.update(recipient_email="not-an-email"),
            [("invalid", "Enter a valid email address.", "recipient_email")],
        ),
        (_drop("recipient_email"), [("required", "This field is required.", "recipient_email")]),
        (
            lambda b: b.update(recipient_email=None),
            [("null", "This field may not be null.", "recipient_email")],
        ),
        (
            _drop("external_reference", "order_number"),
            [("required", "This field is required.", "order_number")],
        ),
        (
            lambda b: b.update(order_number=""),
            [("blank", "This field may not be blank.", "order_number")],
        ),
        (
            lambda b: b.update(order_number=True),
            [("invalid", "Not a valid string.", "order_number")],
        ),
        (
            lambda b: b.update(order_number="x" * 256),
            [("max_length", "Ensure this field has no more than 255 characters.", "order_number")],
        ),
        _money("order_total_amount", ""),
        _money("order_total_amount", "-"),
        _money("order_tax_amount", "."),
        _money("order_net_amount", "1.234"),
        _money("order_discount_amount", "123456789"),
        _money("order_total_amount", "1e3"),
        (
            lambda b: b.update(destination_country_iso3="DE"),
            [("invalid_choice", '"DE" is not a valid choice.', "destination_country_iso3")],
        ),
        (
            lambda b: b.update(destination_country_iso3="XXX"),
            [("invalid_choice", '"XXX" is not a valid choice.', "destination_country_iso3")],
        ),
        (
            lambda b: b["shipping_address"].update(country_iso3="FRA "),
            [],  # trimmed, as DRF does
        ),
        (
            lambda b: b["shipping_address"].pop("city"),
            [("required", "This field is required.", "shipping_address.city")],
        ),
        (
            lambda b: b.update(billing_address="Hauptstr. 1"),
            [("invalid", "Invalid data. Expected a dictionary, but got str.", "billing_address")],
        ),
        (
            lambda b: b.update(order_currency="EURO"),
            [("max_length", "Ensure this field has no more than 3 characters.", "order_currency")],
        ),
        (
            lambda b: b.update(order_currency="XYZ"),
            [("invalid_choice", '"XYZ" is not a valid choice.', "order_currency")],
        ),
        (
            lambda b: b.update(language_iso2="xx"),
            [("invalid_choice", '"xx" is not a valid choice.', "language_iso2")],
        ),
        (
            lambda b: b.update(timezone="Mars/Olympus"),
            [("invalid_choice", '"Mars/Olympus" is not a valid choice.', "timezone")],
        ),
        (
            lambda b: b.update(tags=["category:Home", "nokey"]),
            [("invalid", 'Enter a tag of the form "key:value".', "tags.1")],
        ),
        (
            lambda b: b.update(tags="a:b"),
            [("not_a_list", 'Expected a list of items but got type "str".', "tags")],
        ),
        (
            lambda b: b.update(announced_delivery_date="2026-06-19T10:00:00Z"),
            [
                (
                    "invalid",
                    "Date has wrong format. Use one of these formats instead: YYYY-MM-DD.",
                    "announced_delivery_date",
                )
            ],
        ),
        (
            lambda b: b.update(announced_delivery_date_max="2026-02-30"),
            [
                (
                    "invalid",
                    "Date has wrong format. Use one of these formats instead: YYYY-MM-DD.",
                    "announced_delivery_date_max",
                )
            ],
        ),
        (
            lambda b: b.update(order_date="16.06.2026"),
            [
                (
                    "invalid",
                    "Datetime has wrong format. Use one of these formats instead: "
                    "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].",
                    "order_date",
                )
            ],
        ),
        (
            lambda b: b.update(cancelled_reason="fraud"),
            [("invalid_choice", '"fraud" is not a valid choice.', "cancelled_reason")],
        ),
        (
            lambda b: b.update(has_multiple_shipments="maybe"),
            [("invalid", "Must be a valid boolean.", "has_multiple_shipments")],
        ),
        (
            lambda b: b["articles_order"][0].update(quantity="two"),
            [("invalid", "A valid integer is required.", "articles_order.0.quantity")],
        ),
        (
            lambda b: b["articles_order"][1].update(quantity=0),
            [
                (
                    "min_value",
                    "Ensure this value is greater than or equal to 1.",
                    "articles_order.1.quantity",
                )
            ],
        ),
        (
            lambda b: b["articles_order"][1].update(unit_price="-1.00"),
            [("invalid", "Must not be negative", "articles_order.1.unit_price")],
        ),
        (
            lambda b: b["articles_order"][1].update(line_item_id="L1"),
            [
                (
                    "unique",
                    "Line item ids must be unique within the order.",
                    "articles_order.1.line_item_id",
                )
            ],
        ),
        (
            lambda b: b["articles_order"][0].update(article_image_url="ftp://x"),
            [("invalid", "Enter a valid URL.", "articles_order.0.article_image_url")],
        ),
        (
            lambda b: b.update(articles_order=[]),
            [("empty", "This list may not be empty.", "articles_order")],
        ),
        (_drop("articles_order"), [("required", "This field is required.", "articles_order")]),
        (
            lambda b: b.update(additional_attributes={"Bad Key": 1}),
            [
                (
                    "invalid",
                    "Attribute names are 1 to 64 characters of a-z, 0-9 and _.",
                    "additional_attributes.Bad Key",
                )
            ],
        ),
        (
            lambda b: b.update(additional_attributes={"parcellab_x": 1}),
            [
                (
                    "invalid",
                    'Attribute names starting with "parcellab_" are reserved.',
                    "additional_attributes.parcellab_x",
                )
            ],
        ),
        (
            lambda b: b.update(mutations=[{"type": "explode"}]),
            [("invalid_choice", '"explode" is not a valid choice.', "mutations.0.type")],
        ),
        (
            lambda b: b.update(mutations=[{"type": "add_tracking", "tracking": {"courier": "x"}}]),
            [("required", "This field is required.", "mutations.0.tracking.tracking_number")],
        ),
        (
            lambda b: b.update(
                mutations=[{"type": "change_line_item_quantity", "line_item_id": "L1"}]
            ),
            [("required", "This field is required.", "mutations.0.quantity")],
        ),
        (
            lambda b: b.update(account="abc"),
            [("invalid", "A valid integer is required.", "account")],
        ),
    ],
)
async def test_every_rule_names_its_attr(
    client: httpx.AsyncClient,
    tenant: Tenant,
    change: Any,
    expected: list[tuple[str, str, str]],
) -> None:
    body = example()
    change(body)
    r = await put(client, tenant, body)
    if not expected:
        assert r.status_code == 201, r.text
        return
    assert r.status_code == 400, r.text
    assert r.json() == {
        "type": "client_error",
        "errors": [{"code": c, "detail": d, "attr": a} for c, d, a in expected],
    }
    ref = body.get("external_reference") or body.get("order_number")
    if isinstance(ref, str):
        gone = await client.get(f"/v1/orders/by-ref/{ref}", headers=tenant.headers)
        assert gone.status_code == 404  # nothing written


async def test_every_failing_field_is_listed_and_nothing_is_written(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = example(
        recipient_email="nope",
        order_total_amount="-",
        destination_country_iso3="Germany",
        tags=["x"],
        mutations=[{"type": "cancel_order", "cancelled_reason": "bored"}],
    )
    body["articles_order"][0]["quantity"] = -1
    r = await put(client, tenant, body)
    assert r.status_code == 400
    assert [e["attr"] for e in r.json()["errors"]] == [
        "order_total_amount",
        "destination_country_iso3",
        "tags.0",
        "articles_order.0.quantity",
        "mutations.0.cancelled_reason",
        "recipient_email",
    ]
    assert (
        await client.get(f"/v1/orders/by-ref/{body['external_reference']}", headers=tenant.headers)
    ).status_code == 404
    sub = await client.get(f"/v1/submissions/{r.headers['Submission-Id']}", headers=tenant.headers)
    assert sub.json()["outcome"] == "invalid"


async def test_an_invalid_update_leaves_the_order_as_it_was(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = example()
    await put(client, tenant, body)
    r = await put(
        client,
        tenant,
        {
            "external_reference": body["external_reference"],
            "channel": "app",
            "order_currency": "???",
            "mutations": [{"type": "cancel_order"}],
        },
    )
    assert r.status_code == 400
    order = await canonical(client, tenant, body["external_reference"])
    assert (order["version"], order["channel"], order["status"]) == (1, "webshop", "unfulfilled")


async def test_dropping_a_shipped_article_is_refused(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ship = {
        "type": "add_tracking",
        "tracking": {
            "tracking_number": "Z1",
            "courier": "dhl",
            "articles": [{"line_item_id": "L2"}],
        },
    }
    body = example(mutations=[ship])
    await put(client, tenant, body)
    r = await put(
        client,
        tenant,
        {
            "external_reference": body["external_reference"],
            "articles_order": [{"line_item_id": "L1", "sku": "S"}],
        },
    )
    assert r.status_code == 400
    (error,) = r.json()["errors"]
    assert (error["code"], error["attr"]) == ("invalid", "articles_order")
    assert "L2" in error["detail"]


async def test_nul_text_and_unparseable_json(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = example(channel="web\x00shop")
    r = await put(client, tenant, body)
    assert r.status_code == 400
    assert r.json()["errors"] == [
        {
            "code": "null_characters_not_allowed",
            "detail": "Null characters are not allowed.",
            "attr": "channel",
        }
    ]
    broken = await put(client, tenant, b'{"order_number": ')
    assert broken.status_code == 400
    (error,) = broken.json()["errors"]
    assert (error["code"], error["attr"]) == ("parse_error", None)
    assert error["detail"].startswith("JSON parse error - ")
    listed = await put(client, tenant, [example()])
    assert listed.json()["errors"] == [
        {
            "code": "invalid",
            "detail": "Invalid data. Expected a dictionary, but got list.",
            "attr": "non_field_errors",
        }
    ]
    text = await client.put(
        URL, content=b"order", headers={**headers(tenant), "Content-Type": "text/plain"}
    )
    assert text.status_code == 415
    assert text.json()["errors"][0]["code"] == "unsupported_media_type"


# --- credentials and account -------------------------------------------------------------------


async def test_credentials_and_account(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = example(account=tenant.org.number)
    assert (await put(client, tenant, body)).status_code == 201
    wrong = await put(client, tenant, example(account=tenant.org.number + 1000))
    assert wrong.status_code == 403
    assert wrong.json()["errors"][0]["code"] == "permission_denied"
    assert wrong.json()["errors"][0]["attr"] == "account"

    missing = await client.put(URL, content=orjson.dumps(example()))
    assert missing.status_code == 401
    assert missing.json() == {
        "type": "client_error",
        "errors": [
            {
                "code": "not_authenticated",
                "detail": "Authentication credentials were not provided.",
                "attr": None,
            }
        ],
    }
    bad = await client.put(
        URL,
        content=orjson.dumps(example()),
        headers={"Authorization": "Parcellab-API-Token og_nope.nope"},
    )
    assert bad.status_code == 401
    assert bad.json()["errors"][0]["code"] == "authentication_failed"
    # every other credential form works too
    bearer = await client.put(
        URL,
        content=orjson.dumps(example()),
        headers={**tenant.headers, "Content-Type": "application/json"},
    )
    assert bearer.status_code == 201


async def test_a_read_only_key_cannot_write(client: httpx.AsyncClient, tenant: Tenant) -> None:
    app = client._transport.app  # type: ignore[attr-defined]
    token = await add_key(app, tenant, scopes=["orders:read"])
    h = {"Authorization": f"Parcellab-API-Token {token}", "Content-Type": "application/json"}
    r = await client.put(URL, content=orjson.dumps(example()), headers=h)
    assert r.status_code == 403
    assert r.json()["errors"][0]["code"] == "permission_denied"


# --- reading -----------------------------------------------------------------------------------


async def test_get_by_id_and_info(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = example()
    created = (await put(client, tenant, body)).json()
    r = await client.get(f"{URL}{created['external_id']}/", headers=headers(tenant))
    assert r.status_code == 200
    assert r.json()["external_reference"] == body["external_reference"]
    for bad in (str(uuid.uuid4()), "not-a-uuid", created["external_id"] + ".json"):
        missing = await client.get(f"{URL}{bad}/", headers=headers(tenant))
        assert missing.status_code == 404, bad
        assert missing.json()["errors"][0] == {
            "code": "not_found",
            "detail": "Not found.",
            "attr": None,
        }
    # "info" is not an id: it is the look-up by reference
    info = await client.get(
        f"{URL}info/",
        params={"external_reference": body["external_reference"]},
        headers=headers(tenant),
    )
    assert info.status_code == 200
    assert info.json()["external_id"] == created["external_id"]
    bare = await client.get(f"{URL}info/", headers=headers(tenant))
    assert bare.status_code == 400


async def _walk(
    client: httpx.AsyncClient, tenant: Tenant, ordering: str, on_page: Any
) -> list[str]:
    seen: list[str] = []
    url: str | None = f"{URL}?ordering={ordering}&page_size=3"
    while url:
        r = await client.get(url, headers=headers(tenant))
        assert r.status_code == 200, r.text
        page = r.json()
        assert list(page) == ["next", "previous", "results"]
        seen += [o["external_reference"] for o in page["results"]]
        await on_page()
        url = page["next"]
        if url:
            parts = urlsplit(url)
            url = f"{parts.path}?{parts.query}"
    return seen


@pytest.mark.parametrize("ordering", ["created_at", "-created_at", "updated_at", "-updated_at"])
async def test_cursor_pages_are_stable_while_orders_arrive(
    client: httpx.AsyncClient, tenant: Tenant, ordering: str
) -> None:
    first = []
    for _ in range(7):
        body = example()
        assert (await put(client, tenant, body)).status_code == 201
        first.append(body["external_reference"])
    added: list[str] = []

    async def insert() -> None:
        body = example()
        await put(client, tenant, body)
        added.append(body["external_reference"])

    seen = await _walk(client, tenant, ordering, insert)
    assert len(seen) == len(set(seen))  # nothing repeated
    assert set(first) <= set(seen)  # nothing that was there is skipped
    expected = first if not ordering.startswith("-") else list(reversed(first))
    assert [ref for ref in seen if ref in first] == expected


async def test_previous_pages_and_bad_parameters(client: httpx.AsyncClient, tenant: Tenant) -> None:
    refs = []
    for _ in range(5):
        body = example()
        await put(client, tenant, body)
        refs.append(body["external_reference"])
    one = (await client.get(f"{URL}?page_size=2", headers=headers(tenant))).json()
    assert one["previous"] is None
    assert [o["external_reference"] for o in one["results"]] == refs[::-1][:2]
    two = (await client.get(one["next"], headers=headers(tenant))).json()
    assert [o["external_reference"] for o in two["results"]] == refs[::-1][2:4]
    back = (await client.get(two["previous"], headers=headers(tenant))).json()
    assert [o["external_reference"] for o in back["results"]] == refs[::-1][:2]
    assert back["previous"] is None
    assert back["next"] is not None

    bad = await client.get(f"{URL}?cursor=garbage", headers=headers(tenant))
    assert bad.status_code == 404
    assert bad.json()["errors"][0]["detail"] == "Invalid cursor"
    other = await client.get(
        two["next"].replace("ordering", "x") + "&ordering=updated_at", headers=headers(tenant)
    )
    assert other.status_code == 404  # a cursor of another ordering
    order = await client.get(f"{URL}?ordering=total", headers=headers(tenant))
    assert order.status_code == 400
    assert order.json()["errors"][0]["attr"] == "ordering"


async def test_the_openapi_document_shows_the_routes(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/openapi.json")).json()
    assert {"put", "post", "get"} <= set(doc["paths"]["/parcellab/v4/track/orders/"])
    assert "/parcellab/v4/track/orders/{order_id}/" in doc["paths"]


async def test_concurrent_puts_of_one_key_make_one_order(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = example()
    answers = await asyncio.gather(
        *(put(client, tenant, {**body, "channel": f"c{i}"}) for i in range(6))
    )
    assert sorted(r.status_code for r in answers) == [200, 200, 200, 200, 200, 201]
    assert len({r.json()["external_id"] for r in answers}) == 1
    order = await canonical(client, tenant, body["external_reference"])
    assert order["version"] <= 6


# --- found in review -----------------------------------------------------------------------


async def _round_trip(client: httpx.AsyncClient, tenant: Tenant, order_id: str) -> httpx.Response:
    view = (await client.get(f"{URL}{order_id}/", headers=headers(tenant))).json()
    return await put(client, tenant, view)


async def _version(client: httpx.AsyncClient, tenant: Tenant, order_id: str) -> int:
    r = await client.get(f"/v1/orders/{order_id}", headers=tenant.headers)
    version: int = r.json()["version"]
    return version


async def test_round_trips_of_minimal_and_cancelled_orders_change_nothing(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    number = "MIN-" + uuid.uuid4().hex[:8]
    minimal = {
        "order_number": number,
        "recipient_email": "a@b.co",
        "articles_order": [{"line_item_id": "1"}],
    }
    created = (await put(client, tenant, minimal)).json()["external_id"]
    again = await _round_trip(client, tenant, created)
    assert again.status_code == 200, again.text
    assert await _version(client, tenant, created) == 1

    no_number = {
        "external_reference": "R-" + uuid.uuid4().hex[:8],
        "recipient_email": "_unset",
        "articles_order": [{"sku": "A"}],
    }
    other = (await put(client, tenant, no_number)).json()["external_id"]
    assert (await _round_trip(client, tenant, other)).status_code == 200
    assert await _version(client, tenant, other) == 1

    body = example(mutations=[{"type": "cancel_order"}])
    cancelled = (await put(client, tenant, body)).json()["external_id"]
    version = await _version(client, tenant, cancelled)
    assert (await _round_trip(client, tenant, cancelled)).status_code == 200
    assert await _version(client, tenant, cancelled) == version


@pytest.mark.parametrize("then", ["add_tracking", "cancel_order"])
async def test_a_quantity_change_with_a_lifecycle_mutation_twice_changes_nothing(
    client: httpx.AsyncClient, tenant: Tenant, then: str
) -> None:
    second: dict[str, Any] = {"type": then}
    if then == "add_tracking":
        second["tracking"] = {"tracking_number": "T1", "courier": "dhl"}
    body = {
        "external_reference": "Q-" + uuid.uuid4().hex[:8],
        "recipient_email": "a@b.co",
        "articles_order": [{"line_item_id": "L1", "quantity": 2}],
        "mutations": [
            {"type": "change_line_item_quantity", "line_item_id": "L1", "quantity": 3},
            second,
        ],
    }
    first = await put(client, tenant, body)
    assert first.status_code == 201, first.text
    version = await _version(client, tenant, first.json()["external_id"])
    repeat = await put(client, tenant, body)
    assert repeat.status_code == 200, repeat.text
    assert ok(repeat.json()["mutations"]) == [True, True]
    assert await _version(client, tenant, first.json()["external_id"]) == version
    sub = await client.get(
        f"/v1/submissions/{repeat.headers['Submission-Id']}", headers=tenant.headers
    )
    assert sub.json()["outcome"] == "unchanged"


async def test_address_and_recipient_fields_merge(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = example(recipient_phone="+49 30 1234")
    await put(client, tenant, body)
    ref = body["external_reference"]
    moved = {
        "external_reference": ref,
        "shipping_address": {
            "address_line": "Neue Str. 2",
            "postal_code": "10115",
            "city": "Berlin",
            "country_iso3": "DEU",
        },
    }
    assert (await put(client, tenant, moved)).status_code == 200
    address = (await canonical(client, tenant, ref))["shipping_address"]
    assert (address["line1"], address["name"], address["phone"]) == (
        "Neue Str. 2",
        "Jane Doe",
        "+49 30 1234",
    )
    cleared = await put(client, tenant, {"external_reference": ref, "shipping_address": {}})
    assert cleared.status_code == 200
    address = (await canonical(client, tenant, ref))["shipping_address"]
    assert address["line1"] is None
    assert (address["name"], address["country"]) == ("Jane Doe", "DE")


async def test_a_new_currency_reaches_the_lines(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = example()
    await put(client, tenant, body)
    ref = body["external_reference"]
    r = await put(
        client,
        tenant,
        {
            "external_reference": ref,
            "order_currency": "JPY",
            "order_total_amount": "119",
            "order_tax_amount": "19",
            "order_net_amount": "100",
            "articles_order": [{"line_item_id": "L1", "unit_price": "39.55"}],
        },
    )
    assert r.status_code == 400
    assert r.json()["errors"][0]["attr"] == "articles_order.0.unit_price"
    ok_change = await put(
        client,
        tenant,
        {
            "external_reference": ref,
            "order_currency": "JPY",
            "order_total_amount": "119",
            "order_tax_amount": "19",
            "order_net_amount": "100",
            "articles_order": [{"line_item_id": "L1", "unit_price": "40"}],
        },
    )
    assert ok_change.status_code == 200, ok_change.text
    order = await canonical(client, tenant, ref)
    assert (order["currency"], order["items"][0]["currency"]) == ("JPY", "JPY")


async def test_review_edge_cases_are_client_errors(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    for cursor in (
        "WyItY3JlYXRlZF9hdCIsMCwiMjAyNi0wMS0wMVQwMDowMDowMCswMDowMCIsNV0",  # id 5
        "WyItY3JlYXRlZF9hdCIsMCwiMjAyNi0wMS0wMVQwMDowMDowMCswMDowMCIsW11d",  # id []
    ):
        r = await client.get(f"{URL}?cursor={cursor}", headers=headers(tenant))
        assert r.status_code == 404, cursor
    size = await client.get(f"{URL}?page_size=²", headers=headers(tenant))
    assert size.status_code == 400

    huge = orjson.dumps(example()).replace(b'"order_number":"1001"', b'"order_number":1e999999999')
    r = await put(client, tenant, huge)
    assert r.status_code == 400
    assert r.json()["errors"][0]["attr"] == "order_number"
    money = orjson.dumps(example()).replace(
        b'"order_tax_amount":"19.00"', b'"order_tax_amount":1e-999999999'
    )
    r = await put(client, tenant, money)
    assert r.json()["errors"][0]["attr"] == "order_tax_amount"
    infinite = await put(client, tenant, b'{"order_number": Infinity}')
    assert infinite.json()["errors"][0]["code"] == "parse_error"

    many = example(mutations=[{"type": "cancel_order"}] * 101)
    r = await put(client, tenant, many)
    assert r.json()["errors"][0]["attr"] == "mutations"

    attrs = await put(
        client, tenant, example(additional_attributes={f"k{i}": i for i in range(201)})
    )
    assert attrs.json()["errors"][0]["attr"] == "additional_attributes"

    empty = example(
        mutations=[
            {
                "type": "add_tracking",
                "tracking": {"tracking_number": "X", "courier": "y", "articles": []},
            }
        ]
    )
    r = await put(client, tenant, empty)
    assert r.json()["errors"][0] == {
        "code": "empty",
        "detail": "This list may not be empty.",
        "attr": "mutations.0.tracking.articles",
    }

    nul = await put(client, tenant, example(additional_attributes={"a/b": "x\x00"}))
    assert [e["attr"] for e in nul.json()["errors"]] == ["additional_attributes.a/b"]


async def test_an_invalid_reference_does_not_fall_back_to_the_number(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    number = "K-" + uuid.uuid4().hex[:8]
    body = example(order_number=number)
    del body["external_reference"]
    assert (await post(client, tenant, body)).status_code == 201
    r = await post(client, tenant, {**body, "external_reference": "x" * 300})
    assert r.status_code == 400
    assert [e["code"] for e in r.json()["errors"]] == ["max_length"]


async def test_the_base64_account_and_token_form(client: httpx.AsyncClient, tenant: Tenant) -> None:
    def auth(account: object) -> dict[str, str]:
        raw = f"{account}:{tenant.token}".encode()
        return {
            "Authorization": "Parcellab-API-Token " + base64.b64encode(raw).decode(),
            "Content-Type": "application/json",
        }

    good = await client.put(URL, content=orjson.dumps(example()), headers=auth(tenant.org.number))
    assert good.status_code == 201, good.text
    wrong = await client.put(URL, content=orjson.dumps(example()), headers=auth(999999))
    assert wrong.status_code == 401
