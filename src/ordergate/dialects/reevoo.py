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

from ordergate.dialects import blank
from ordergate.errors import FieldError, ValidationFailed
from ordergate.orders.model import Order, validate_order

VIA = "reevoo"
NO_DATA = "No data provided"
TRKREF = re.compile(r"^[A-Z0-9]+(-[A-Z0-9]+)*$")
_DATE = re.compile(r"^([0-9]{2})-([0-9]{2})-([0-9]{4})$")
_PRICE = re.compile(r"^[0-9]+([,.][0-9]+)?$")

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


def _date(value: Any, name: str, out: _Messages) -> str | None:
    if blank(value):
        return None
    match = _DATE.match(value) if isinstance(value, str) else None
    if match is None:
        out.invalid(name)
        return None
    day, month, year = (int(g) for g in match.groups())
    try:
        return dt.datetime(year, month, day, tzinfo=dt.UTC).isoformat().replace("+00:00", "Z")
    except ValueError:
        out.invalid(name)
        return None


def _price(value: Any, where: str, out: _Messages) -> Any:
    if blank(value):
        return None
    finite = isinstance(value, int) or (isinstance(value, Decimal) and value.is_finite())
    if finite and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _PRICE.match(value.strip()):
        try:
            return str(Decimal(value.strip().replace(",", ".")))
        except InvalidOperation:
            pass
    out.invalid(where)
    return None


class _Messages:
    """The translation's messages, and which vendor fields they are about (canonical
    validation then adds nothing more about those fields)."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.fields: set[str] = set()

    def cannot_be_blank(self, name: str) -> None:
        self.add(name, f"{name} cannot be blank")

    def invalid(self, name: str) -> None:
        self.add(name, f"invalid {name}")

    def add(self, name: str, text: str) -> None:
        self.fields.add(name)
        self.messages.append(text)

    def covers(self, name: str) -> bool:
        """Whether ``name`` (or the item it belongs to) already has a message."""
        return any(name == f or name.startswith((f + ".", f + "[")) for f in self.fields)


def _str(value: Any, name: str, out: _Messages, *, required: bool = False) -> str | None:
    """A text field: blank is absent (an error if required); anything but a string is
    invalid."""
    if blank(value):
        if required:
            out.cannot_be_blank(name)
        return None
    if not isinstance(value, str):
        out.invalid(name)
        return None
    return value


def to_canonical(body: Any) -> tuple[dict[str, Any], _Messages]:
    """The canonical order for a Reevoo customer order, as far as it translates, and the
    messages about what did not (:class:`Rejected` for no data at all)."""
    if not isinstance(body, dict) or not body:
        raise Rejected([NO_DATA])
    out = _Messages()
    order: dict[str, Any] = {
        "order_ref": _str(body.get("order_ref"), "order_ref", out, required=True)
    }
    if blank(body.get("order_date")) and blank(body.get("fulfilment_date")):
        out.add("order_date", "order_date cannot be blank when fulfilment_date is blank")
    order["placed_at"] = _date(body.get("order_date"), "order_date", out)
    order["fulfilled_at"] = _date(body.get("fulfilment_date"), "fulfilment_date", out)
    order["language"] = _str(body.get("language"), "language", out)
    order["locale"] = _str(body.get("locale"), "locale", out)
    customer = body.get("customer")
    if blank(customer) or customer == {}:
        out.cannot_be_blank("customer")
    elif not isinstance(customer, dict):
        out.invalid("customer")
    else:
        country = _str(customer.get("country"), "country", out)
        if country is not None and len(country) != 2:
            out.invalid("country")
            country = None
        order["customer"] = {
            "email": _str(customer.get("email"), "email", out, required=True),
            "customer_ref": _str(customer.get("customer_ref"), "customer_ref", out),
            "title": _str(customer.get("title"), "title", out),
            "first_name": _str(customer.get("first_name"), "first_name", out),
            "last_name": _str(customer.get("surname"), "surname", out),
            "country": country,
        }
        postcode = _str(customer.get("postcode"), "postcode", out)
        if postcode is not None:
            order["billing_address"] = {"postal_code": postcode, "country": country}
    items = body.get("order_items")
    if blank(items) or items == []:
        out.cannot_be_blank("order_items")
    elif not isinstance(items, list):
        out.invalid("order_items")
    else:
        order["items"] = [_item(i, item, out) for i, item in enumerate(items)]
        # The order's currency only when every item names the same one: an item without a
        # currency must not take another item's.
        currencies = [it.get("currency") for it in order["items"]]
        if currencies and None not in currencies and len(set(currencies)) == 1:
            order["currency"] = currencies[0]
    return order, out


def _item(i: int, item: Any, out: _Messages) -> dict[str, Any]:
    where = f"order_items[{i}]"
    if not isinstance(item, dict):
        out.invalid(where)
        return {"sku": "-"}  # a placeholder keeps the positions of the items after it
    metadata = item.get("metadata")
    if blank(metadata):
        metadata = {}
    elif not isinstance(metadata, dict):
        out.invalid(f"{where}.metadata")
        metadata = {}
    return {
        "sku": _str(item.get("sku"), f"{where}.sku", out, required=True) or "-",
        "quantity": 1,
        "unit_price": _price(item.get("price"), f"{where}.price", out),
        "currency": _str(item.get("currency"), f"{where}.currency", out),
        "metadata": metadata,
    }


def validate(body: Any) -> Order:
    """Translate and validate; :class:`Rejected` lists every problem in the vendor's words:
    those of the translation, then those of canonical validation about other fields."""
    canonical, out = to_canonical(body)
    try:
        order = validate_order(canonical)
    except ValidationFailed as exc:
        for e in exc.errors:
            name = _vendor_name([p for p in e.pointer.split("/") if p])
            # The order's currency is derived from the items': their own errors say it.
            if e.pointer != "/currency" and not out.covers(name):
                out.messages.append(message(e))
    else:
        if not out.messages:
            return order
    raise Rejected(_unique(out.messages))


def nul_messages(pointers: list[str]) -> list[str]:
    """Messages for text with a NUL character, at pointers into a Reevoo customer order."""
    out = []
    for pointer in pointers:
        parts = [p for p in pointer.split("/") if p]
        if parts and parts[0] == "customer" and len(parts) > 1:
            name = parts[1]
        elif parts and parts[0] == "order_items" and len(parts) > 2:
            name = f"order_items[{parts[1]}].{parts[2]}"
        else:
            name = parts[0] if parts else "customer order"
        out.append(f"invalid {name}")
    return _unique(out)


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
