"""The ``reevoo`` dialect: Reevoo Platform API v4 customer orders, in the vendor's shapes.

A Reevoo customer order is translated into a canonical order, validated like any other, and
the canonical field errors are translated back into Reevoo's plain-string messages with
Reevoo's field names (``"order_ref cannot be blank"``, ``"invalid locale"``). Unknown keys
(such as the documented typo ``cutomer_ref``) are ignored, as the vendor does.

Mapping (see docs/dialects.md):

- ``order_date`` / ``fulfilment_date`` (``dd-mm-yyyy``, at least one) → ``placed_at`` /
  ``fulfilled_at`` at midnight UTC; ``fulfilled_at`` records the order as fulfilled.
- ``customer.surname`` → ``customer.last_name``; ``customer.postcode`` →
  ``billing_address.postal_code`` (with the customer's country); the rest by name.
- ``order_items[]`` → ``items[]`` with quantity 1; ``price`` is ``"55,99"`` (decimal comma),
  ``"55.99"`` or a JSON number; ``currency`` per item, and the order's currency when every
  item that has one agrees.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from ordergate.errors import FieldError, ValidationFailed
from ordergate.orders.model import Order, validate_order

VIA = "reevoo"
NO_DATA = "No data provided"
TRKREF = re.compile(r"^[A-Z0-9]+(-[A-Z0-9]+)*$")
_DATE = re.compile(r"^(\d{2})-(\d{2})-(\d{4})$")
_PRICE = re.compile(r"^\d+([,.]\d+)?$")

# Canonical pointer → the vendor's name for the field.
_TOP = {
    "order_ref": "order_ref",
    "placed_at": "order_date",
    "fulfilled_at": "fulfilment_date",
    "language": "language",
    "locale": "locale",
    "customer": "customer",
    "items": "order_items",
}
_CUSTOMER = {
    "email": "email",
    "customer_ref": "customer_ref",
    "title": "title",
    "first_name": "first_name",
    "last_name": "surname",
    "country": "country",
}
_ITEM = {"sku": "sku", "unit_price": "price", "currency": "currency", "metadata": "metadata"}
_BLANK = {"required", "too_short", "too_few_items", "missing"}


class Rejected(Exception):
    """A customer order the vendor would refuse: its messages, in the vendor's words."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


def _date(value: Any, name: str, errors: list[str]) -> str | None:
    if value is None or value == "":
        return None
    match = _DATE.match(value) if isinstance(value, str) else None
    if match is None:
        errors.append(f"invalid {name}")
        return None
    day, month, year = (int(g) for g in match.groups())
    try:
        return dt.datetime(year, month, day, tzinfo=dt.UTC).isoformat().replace("+00:00", "Z")
    except ValueError:
        errors.append(f"invalid {name}")
        return None


def _price(value: Any, where: str, errors: list[str]) -> Any:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        errors.append(f"invalid {where}")
        return None
    if isinstance(value, int | float | Decimal):
        return value
    if isinstance(value, str) and _PRICE.match(value.strip()):
        try:
            return str(Decimal(value.strip().replace(",", ".")))
        except InvalidOperation:
            pass
    errors.append(f"invalid {where}")
    return None


def _text(value: Any) -> Any:
    return value if value != "" else None


def to_canonical(body: Any) -> tuple[dict[str, Any], list[str]]:
    """The canonical order for a Reevoo customer order, as far as it translates, and the
    messages about what did not (:class:`Rejected` for no data at all)."""
    if not isinstance(body, dict) or not body:
        raise Rejected([NO_DATA])
    errors: list[str] = []
    placed_at = _date(body.get("order_date"), "order_date", errors)
    fulfilled_at = _date(body.get("fulfilment_date"), "fulfilment_date", errors)
    if body.get("order_date") in (None, "") and body.get("fulfilment_date") in (None, ""):
        errors.append("order_date cannot be blank when fulfilment_date is blank")
    order: dict[str, Any] = {
        "order_ref": body.get("order_ref"),
        "placed_at": placed_at,
        "fulfilled_at": fulfilled_at,
        "language": _text(body.get("language")),
        "locale": _text(body.get("locale")),
    }
    customer = body.get("customer")
    if customer is None or customer == {}:
        errors.append("customer cannot be blank")
    elif not isinstance(customer, dict):
        errors.append("invalid customer")
    else:
        if customer.get("email") in (None, ""):
            errors.append("email cannot be blank")
        country = _text(customer.get("country"))
        if country is not None and (not isinstance(country, str) or len(country) != 2):
            errors.append("invalid country")
            country = None
        order["customer"] = {
            "email": _text(customer.get("email")),
            "customer_ref": _text(customer.get("customer_ref")),
            "title": _text(customer.get("title")),
            "first_name": _text(customer.get("first_name")),
            "last_name": _text(customer.get("surname")),
            "country": country,
        }
        postcode = _text(customer.get("postcode"))
        if postcode is not None:
            order["billing_address"] = {"postal_code": postcode, "country": country}
    items = body.get("order_items")
    if items is None or items == []:
        errors.append("order_items cannot be blank")
    elif not isinstance(items, list):
        errors.append("invalid order_items")
    else:
        order["items"] = []
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                errors.append(f"invalid order_items[{i}]")
                continue
            order["items"].append(
                {
                    "sku": item.get("sku"),
                    "quantity": 1,
                    "unit_price": _price(item.get("price"), f"order_items[{i}].price", errors),
                    "currency": _text(item.get("currency")),
                    "metadata": item.get("metadata") or {},
                }
            )
        currencies = {it["currency"] for it in order["items"] if it["currency"]}
        if len(currencies) == 1:
            order["currency"] = currencies.pop()
    return order, errors


def validate(body: Any) -> Order:
    """Translate and validate; :class:`Rejected` lists every problem in the vendor's words:
    those of the translation, then those of canonical validation of what did translate."""
    canonical, errors = to_canonical(body)
    try:
        order = validate_order(canonical)
    except ValidationFailed as exc:
        # The order's currency is derived from the items': their own errors say it.
        errors += [message(e) for e in exc.errors if e.pointer != "/currency"]
    else:
        if not errors:
            return order
    raise Rejected(_unique(errors))


def message(error: FieldError) -> str:
    """A canonical field error as Reevoo would word it, with Reevoo's field name."""
    parts = [p for p in error.pointer.split("/") if p]
    name = _vendor_name(parts)
    if error.code in _BLANK:
        return f"{name} cannot be blank"
    return f"invalid {name}"


def _vendor_name(parts: list[str]) -> str:
    if not parts:
        return "customer order"
    head = parts[0]
    if head == "customer" and len(parts) > 1:
        return _CUSTOMER.get(parts[1], parts[1])
    if head == "billing_address":
        return "postcode" if len(parts) > 1 and parts[1] == "postal_code" else "country"
    if head == "items" and len(parts) > 1:
        where = f"order_items[{parts[1]}]"
        if len(parts) > 2:
            return f"{where}.{_ITEM.get(parts[2], parts[2])}"
        return where
    return _TOP.get(head, head)


def _unique(messages: list[str]) -> list[str]:
    return list(dict.fromkeys(messages))
