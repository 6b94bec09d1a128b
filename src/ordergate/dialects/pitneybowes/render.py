"""A stored order as Pitney Bowes' order object (GET, PATCH and DELETE answers).

It has the fields a create accepts, filled from the order (so that it can be patched and
sent back), and the server's own: ``orderId``, ``orderStatus``, ``transactionCreateDate``
and ``lastModifiedDate``. Amounts are JSON numbers written from the stored decimal text,
never through a binary float: the object holds ``Decimal`` numbers, for
:func:`ordergate.dialects.pitneybowes.dumps`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

import jiter

from ordergate.dialects.pitneybowes import ids
from ordergate.dialects.pitneybowes.body import (
    ADDRESS_FIELDS,
    ADDRESSES,
    PB_PREFIX,
    SHIPPING_REFERENCE_FIELDS,
    SHIPPING_REFERENCE_PREFIX,
    decode_name,
    encode_name,
    reference_key,
)
from ordergate.orders.store import StoredOrder

STATUS = {
    "unfulfilled": "UNFULFILLED",
    "partially_fulfilled": "PARTIALLY_FULFILLED",
    "fulfilled": "FULFILLED",
    "cancelled": "CANCELLED",
}


def timestamp(value: dt.datetime) -> str:
    """``2026-01-30T10:53:24.554Z``: UTC, milliseconds."""
    return (
        value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{value.microsecond // 1000:03d}Z"
    )


def _number(text: Any) -> Decimal | None:
    """A stored amount (a decimal string); anything else, set through another door under a
    PB key, is not shown."""
    try:
        number = Decimal(text) if isinstance(text, str) else None
    except InvalidOperation:
        return None
    return number if number is not None and number.is_finite() else None


def _address(address: dict[str, Any] | None, metadata: dict[str, Any], stash: str) -> Any:
    if address is None:
        return None
    out: dict[str, Any] = {}
    for pb, (canonical, _) in ADDRESS_FIELDS.items():
        out[pb] = address.get(canonical) if canonical else metadata.get(stash + "address_line3")
    out["residential"] = metadata.get(stash + "residential")
    return out


def _kept(metadata: dict[str, Any], key: str) -> Any:
    text = metadata.get(key)
    if not isinstance(text, str):
        return None
    try:
        return jiter.from_json(text.encode(), float_mode="decimal")
    except ValueError:  # not JSON: set through another door, not shown
        return None


def render(order: StoredOrder, organisation_number: int) -> dict[str, Any]:
    doc = order.render()
    metadata: dict[str, Any] = doc.get("metadata") or {}
    totals = doc.get("totals") or {}
    customer = doc.get("customer") or {}
    message = doc.get("message")
    charges = {
        "currency": doc.get("currency"),
        "gmv": _number(metadata.get("pb_charges_gmv")),
        "subTotal": _number(totals.get("subtotal")),
        "totalPaid": _number(totals.get("total")),
        "paymentType": doc.get("payment_method"),
        "billingStatus": metadata.get("pb_charges_billing_status"),
    }
    reference = {name: metadata.get(reference_key(name)) for name in SHIPPING_REFERENCE_FIELDS}
    items = []
    for item in doc["items"]:
        meta = item.get("metadata") or {}
        key = "customProductId" if meta.get("pb_custom_product_id") else "sku"
        line: dict[str, Any] = {key: item["sku"]}
        if meta.get("pb_custom_product_id") and meta.get("pb_sku"):
            line["sku"] = meta["pb_sku"]
        items.append(
            {
                **line,
                "name": item["name"],
                "description": meta.get("pb_description"),
                "quantity": item["quantity"],
                "unitPrice": _number(item["unit_price"]),
            }
        )
    addresses = {
        pb: _address(doc.get(canonical), metadata, stash)
        for pb, (canonical, stash) in ADDRESSES.items()
    }
    return {
        "orderId": ids.order_id(organisation_number, order.number),
        "orderNumber": doc["order_number"] or doc["order_ref"],
        "orderStatus": STATUS[order.status],
        "orderMessage": (
            {"type": message.get("type"), "message": message.get("text")} if message else None
        ),
        "metadata": [
            {"name": decode_name(k), "value": v}
            for k, v in metadata.items()
            if not k.startswith((PB_PREFIX, SHIPPING_REFERENCE_PREFIX))
            and encode_name(decode_name(k)) == k  # keys PB cannot name are not shown
        ],
        "charges": charges if any(v is not None for v in charges.values()) else None,
        "shippingReference": reference if any(v is not None for v in reference.values()) else None,
        "customerInfo": (
            {
                "firstName": customer.get("first_name"),
                "lastName": customer.get("last_name"),
                "email": customer.get("email"),
                "customerId": customer.get("customer_ref"),
            }
            if customer
            else None
        ),
        "fromAddress": addresses["fromAddress"],
        "toAddress": addresses["toAddress"],
        "items": items,
        "additionalAddresses": _kept(metadata, "pb_additional_addresses"),
        "shippingPreferences": _kept(metadata, "pb_shipping_preferences"),
        "transactionCreateDate": timestamp(order.created_at),
        "lastModifiedDate": timestamp(order.updated_at),
    }
