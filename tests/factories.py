"""Small keyword-only factories for request bodies."""

from __future__ import annotations

import secrets
from typing import Any


def order_ref() -> str:
    return "REF-" + secrets.token_hex(6)


def item(*, sku: str = "SKU-1", quantity: int = 1, **fields: Any) -> dict[str, Any]:
    return {"sku": sku, "quantity": quantity, **fields}


def order(
    *, ref: str | None = None, items: list[dict[str, Any]] | None = None, **fields: Any
) -> dict[str, Any]:
    return {
        "order_ref": ref or order_ref(),
        "items": items if items is not None else [item(unit_price="9.99")],
        "currency": "GBP",
        **fields,
    }


def full_order(*, ref: str | None = None) -> dict[str, Any]:
    """The canonical example of SPEC §2, with a fresh order_ref."""
    return {
        "order_ref": ref or order_ref(),
        "order_number": "1001",
        "source": "Example Shop",
        "channel": "webshop",
        "test": False,
        "placed_at": "2014-12-10T09:30:00Z",
        "fulfilled_at": None,
        "currency": "GBP",
        "language": "en",
        "locale": "en-GB",
        "timezone": "Europe/London",
        "customer": {
            "email": "john@example.com",
            "customer_ref": "1122",
            "title": "Mr",
            "first_name": "John",
            "last_name": "Brown",
            "phone": "+44 20 7946 0000",
            "country": "GB",
        },
        "shipping_address": {
            "name": "John Brown",
            "company": None,
            "line1": "1 High St",
            "line2": None,
            "postal_code": "SW1A 1AA",
            "city": "London",
            "region": None,
            "country": "GB",
            "phone": None,
            "email": None,
        },
        "billing_address": None,
        "from_address": None,
        "items": [
            {
                "line_id": "1",
                "sku": "PROD1",
                "gtin": "07235211235464",
                "name": "Pizza",
                "quantity": 2,
                "unit_price": "55.99",
                "currency": "GBP",
                "image_url": None,
                "brand": None,
                "category": None,
                "supplier": None,
                "metadata": {"field_1": "Value 1"},
            }
        ],
        "totals": {
            "total": "115.93",
            "subtotal": "111.98",
            "shipping": "3.95",
            "tax": "0",
            "discount": "0",
        },
        "payment_method": "card",
        "invoice_number": None,
        "delivery_method": "standard",
        "promised_delivery": {"date": "2014-12-20", "earliest": None, "latest": None},
        "message": {"type": "gift", "text": "Happy birthday"},
        "tags": ["category:Home Apparel"],
        "metadata": {"erp_id": "X-7"},
    }
