"""A stored order as parcelLab's order object (GET by id, the list's ``results``).

The fields are those a PUT accepts, so that what a GET returns can be sent back as is; the
server's own fields (``external_id``, ``trackings``, ``created_at``, ``updated_at``) are
ignored by the PUT. An address's one canonical ``name`` is shown as ``first_name`` (up to
the first space) and ``last_name`` (the rest), which a PUT joins back into the same name.
"""

from __future__ import annotations

import functools
from typing import Any

import pycountry

from ordergate.dialects.parcellab.body import ANNOUNCED, ORDER_STATUS_KEY, RESERVED, TOTALS
from ordergate.orders.store import StoredOrder


@functools.cache
def alpha3(alpha2: str | None) -> str | None:
    if alpha2 is None:
        return None
    country = pycountry.countries.get(alpha_2=alpha2)
    return None if country is None else str(country.alpha_3)


def _address(address: dict[str, Any] | None) -> dict[str, Any] | None:
    """parcelLab's address object, for an address with a street (a recipient's name, phone
    or country alone are shown by the order's own recipient fields)."""
    if not address or not address.get("line1"):
        return None
    first, _, last = (address.get("name") or "").partition(" ")
    return {
        "first_name": first or None,
        "last_name": last or None,
        "company": address.get("company"),
        "address_line": address.get("line1"),
        "address_line_2": address.get("line2"),
        "postal_code": address.get("postal_code"),
        "city": address.get("city"),
        "region": address.get("region"),
        "country_iso3": alpha3(address.get("country")),
        "phone": address.get("phone"),
        "email": address.get("email"),
    }


def _trackings(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "tracking_number": (f.get("tracking") or {}).get("number"),
            "courier": (f.get("tracking") or {}).get("carrier"),
            "articles": [
                {"line_item_id": line["line_id"], "quantity": line["quantity"]}
                for line in f["items"]
            ],
            "created_at": f["created_at"],
        }
        for f in doc["fulfillments"]
    ]


def render(order: StoredOrder, account: int) -> dict[str, Any]:
    doc = order.render()
    customer = doc.get("customer") or {}
    shipping = doc.get("shipping_address") or {}
    totals = doc.get("totals") or {}
    promised = doc.get("promised_delivery") or {}
    metadata = doc.get("metadata") or {}
    cancellation = doc.get("cancellation")
    reason = cancellation["reason"] if cancellation else None
    body: dict[str, Any] = {
        "external_id": doc["id"],
        "account": account,
        "order_number": doc["order_number"],
        "external_reference": doc["order_ref"],
        "client_key": doc["source"],
        "destination_country_iso3": alpha3(shipping.get("country")),
        "language_iso2": doc["language"],
        "delivery_method": doc["delivery_method"],
        "recipient_email": customer.get("email") or "_unset",
        "recipient_name": shipping.get("name"),
        "recipient_phone": shipping.get("phone"),
        "customer_number": customer.get("customer_ref"),
        "invoice_number": doc["invoice_number"],
        "payment_method": doc["payment_method"],
    }
    body.update({vendor: totals.get(canonical) for vendor, canonical in TOTALS.items()})
    body.update(
        {
            "order_currency": doc["currency"],
            "order_date": doc["placed_at"],
            "channel": doc["channel"],
        }
    )
    body.update({vendor: promised.get(canonical) for vendor, canonical in ANNOUNCED.items()})
    body.update(
        {
            "timezone": doc["timezone"],
            "order_status": "Cancelled" if cancellation else metadata.get(ORDER_STATUS_KEY),
            "cancelled_date": cancellation["cancelled_at"] if cancellation else None,
            # parcelLab has no "fraud": it is one of its "other" reasons
            "cancelled_reason": None
            if reason is None
            else "other"
            if reason == "fraud"
            else reason,
            "tags": doc["tags"],
            "articles_order": [
                {
                    "line_item_id": item["line_id"],
                    "sku": item["sku"],
                    "article_name": item["name"],
                    "quantity": item["quantity"],
                    "unit_price": item["unit_price"],
                    "article_image_url": item["image_url"],
                    "article_category": item["category"],
                }
                for item in doc["items"]
            ],
            "shipping_address": _address(doc.get("shipping_address")),
            "billing_address": _address(doc.get("billing_address")),
            "additional_attributes": {
                k: v for k, v in metadata.items() if not k.startswith(RESERVED)
            },
            "trackings": _trackings(doc),
            "created_at": doc["created_at"],
            "updated_at": doc["updated_at"],
        }
    )
    return body
