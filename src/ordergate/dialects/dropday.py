"""The ``dropday`` dialect: Dropday Orders API v1, in the vendor's shapes.

Dropday runs on Laravel, so its 422 is Laravel's validator output: ``{"message": "Errors",
"errors": {"<dotted.path>": ["The <attribute> field is required."]}}``, every failing field,
keyed by dotted paths with array indices. Attributes are displayed as Laravel does: a path
with an array index verbatim (``products.0.external_id``), another one with its underscores
as spaces (``external id``, ``shipping address.first name``). Empty strings count as
missing (Laravel's ``ConvertEmptyStringsToNull``), so the documented ``"email": ""`` and
``"image_url": ""`` are simply absent.

The body is checked with Dropday's rules first; a body that passes is translated into a
canonical order and validated like any other, and the few canonical errors left (an
unknown country, a bad metadata key, ...) are reported on the Dropday field they came from.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from ordergate.dialects import blank
from ordergate.errors import ValidationFailed
from ordergate.orders.model import Order, validate_order
from ordergate.orders.store import StoredOrder

VIA = "dropday"
_REPEAT = re.compile(r"~[0-9]+$")  # the suffix that keeps a repeated product id's line unique
_EAN = re.compile(r"^([0-9]{8}|[0-9]{12,14})$")  # GTIN-8, -12, -13, -14
# ordergate status → Dropday status (an order's lines all share it, except partial ones)
STATUS = {
    "unfulfilled": "pending",
    "partially_fulfilled": "partially_completed",
    "fulfilled": "completed",
    "cancelled": "declined",
}
FROM_STATUS = {v: k for k, v in STATUS.items()}


class Errors:
    """Laravel's message bag: dotted path → messages, in the order they were found."""

    def __init__(self) -> None:
        self.bag: dict[str, list[str]] = {}

    def add(self, path: str, template: str) -> None:
        messages = self.bag.setdefault(path, [])
        text = template.format(attr=display(path))
        if text not in messages:
            messages.append(text)

    def __bool__(self) -> bool:
        return bool(self.bag)


def display(path: str) -> str:
    """How Laravel names an attribute in a message."""
    if any(part.isdigit() for part in path.split(".")):
        return path
    return path.replace("_", " ")


REQUIRED = "The {attr} field is required."
STRING = "The {attr} field must be a string."
NUMBER = "The {attr} field must be a number."
INTEGER = "The {attr} field must be an integer."
BOOLEAN = "The {attr} field must be true or false."
ARRAY = "The {attr} field must be an array."
EMAIL = "The {attr} field must be a valid email address."
URL = "The {attr} field must be a valid URL."
MAX_255 = "The {attr} field must not be greater than 255 characters."
MIN_1 = "The {attr} field must be at least 1."
MAX_QUANTITY = 1_000_000
MAX_QTY = "The {attr} field must not be greater than 1000000."
MAX_AMOUNT = Decimal("999999999999.9999")
MAX_MONEY = "The {attr} field must not be greater than 999999999999.9999."
MIN_0 = "The {attr} field must be at least 0."
SIZE_2 = "The {attr} field must be 2 characters."
FORMAT = "The {attr} field format is invalid."
INVALID = "The selected {attr} is invalid."


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None


def _string(data: dict[str, Any], key: str, path: str, errors: Errors, *, required: bool) -> Any:
    value = data.get(key)
    if blank(value):
        if required:
            errors.add(path, REQUIRED)
        return None
    if not isinstance(value, str):
        errors.add(path, STRING)
        return None
    if len(value) > 255:
        errors.add(path, MAX_255)
        return None
    return value


def _text_or_number(
    data: dict[str, Any], key: str, path: str, errors: Errors, *, required: bool
) -> str | None:
    """A string that Dropday also accepts as a number (ids, phone numbers)."""
    value = data.get(key)
    if blank(value):
        if required:
            errors.add(path, REQUIRED)
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, Decimal) and value.is_finite() and value.adjusted() < 64:
        return format(value, "f")
    text = _string(data, key, path, errors, required=required)
    return None if text is None else str(text)


def _num(
    data: dict[str, Any], key: str, path: str, errors: Errors, *, required: bool
) -> Decimal | None:
    value = data.get(key)
    if blank(value):
        if required:
            errors.add(path, REQUIRED)
        return None
    number = _number(value)
    if number is None:
        errors.add(path, NUMBER)
        return None
    if number < 0:
        errors.add(path, MIN_0)
        return None
    if number > MAX_AMOUNT:
        errors.add(path, MAX_MONEY)
        return None
    return number


def to_canonical(body: Any) -> tuple[dict[str, Any], Errors]:
    """The canonical order for a Dropday create body, as far as it translates, and the
    Laravel errors of Dropday's own rules."""
    errors = Errors()
    data = body if isinstance(body, dict) else {}
    order: dict[str, Any] = {
        "order_ref": _text_or_number(data, "external_id", "external_id", errors, required=True),
        "source": _string(data, "source", "source", errors, required=True),
    }
    test = data.get("test")
    if not blank(test):
        if test in (True, False, 0, 1, "0", "1", "true", "false"):
            order["test"] = test in (True, 1, "1", "true")
        else:
            errors.add("test", BOOLEAN)
    total = _num(data, "total", "total", errors, required=True)
    shipping_cost = _num(data, "shipping_cost", "shipping_cost", errors, required=False)
    order["totals"] = {
        "total": format(total, "f") if total is not None else None,
        "shipping": format(shipping_cost, "f") if shipping_cost is not None else None,
    }
    email = data.get("email")
    customer: dict[str, Any] = {}
    if not blank(email):
        if not isinstance(email, str) or "@" not in email:
            errors.add("email", EMAIL)
        else:
            customer["email"] = email
    address = data.get("shipping_address")
    if blank(address) or address == {}:
        errors.add("shipping_address", REQUIRED)
    elif not isinstance(address, dict):
        errors.add("shipping_address", ARRAY)
    else:
        p = "shipping_address."
        first = _string(address, "first_name", p + "first_name", errors, required=True)
        last = _string(address, "last_name", p + "last_name", errors, required=True)
        company = _string(address, "company_name", p + "company_name", errors, required=False)
        line1 = _string(address, "address1", p + "address1", errors, required=True)
        line2 = _string(address, "address2", p + "address2", errors, required=False)
        postcode = _text_or_number(address, "postcode", p + "postcode", errors, required=True)
        city = _string(address, "city", p + "city", errors, required=True)
        state = _string(address, "state", p + "state", errors, required=False)
        country = _string(address, "country", p + "country", errors, required=True)
        if country is not None and len(country) != 2:
            errors.add(p + "country", SIZE_2)
            country = None
        phone = _text_or_number(address, "phone", p + "phone", errors, required=False)
        name = " ".join(n for n in (first, last) if n) or None
        order["shipping_address"] = {
            "name": name,
            "company": company,
            "line1": line1,
            "line2": line2,
            "postal_code": postcode,
            "city": city,
            "region": state,
            "country": country,
            "phone": phone,
            "email": customer.get("email"),
        }
        customer.update({"first_name": first, "last_name": last, "phone": phone})
        if country is not None:
            customer["country"] = country
    order["customer"] = customer or None
    products = data.get("products")
    if blank(products) or products == []:
        errors.add("products", REQUIRED)
    elif not isinstance(products, list):
        errors.add("products", ARRAY)
    else:
        order["items"] = [_item(i, p, errors) for i, p in enumerate(products)]
        # A product id may repeat (variants of one product): the line ids stay unique.
        seen: dict[str, int] = {}
        for item in order["items"]:
            line_id = item.get("line_id")
            if line_id is not None:
                seen[line_id] = seen.get(line_id, 0) + 1
                if seen[line_id] > 1:
                    item["line_id"] = f"{line_id}~{seen[line_id]}"
    return order, errors


def _item(i: int, product: Any, errors: Errors) -> dict[str, Any]:
    p = f"products.{i}."
    if not isinstance(product, dict):
        errors.add(f"products.{i}", ARRAY)
        return {"sku": "-"}
    external_id = _text_or_number(product, "external_id", p + "external_id", errors, required=True)
    reference = _text_or_number(product, "reference", p + "reference", errors, required=False)
    name = _string(product, "name", p + "name", errors, required=True)
    quantity = product.get("quantity")
    if blank(quantity):
        errors.add(p + "quantity", REQUIRED)
        quantity = 1
    else:
        number = _number(quantity) if not isinstance(quantity, bool) else None
        if number is None or number != number.to_integral_value():
            errors.add(p + "quantity", INTEGER)  # (compared, never converted: 1E+999999)
            quantity = 1
        elif number > MAX_QUANTITY:
            errors.add(p + "quantity", MAX_QTY)
            quantity = 1
        elif number < 1:
            errors.add(p + "quantity", MIN_1)
            quantity = 1
        else:
            quantity = int(number)
    price = _num(product, "price", p + "price", errors, required=True)
    ean = product.get("ean13")
    gtin = None
    if not blank(ean):
        gtin = str(ean).strip() if isinstance(ean, str | int) and not isinstance(ean, bool) else ""
        if not _EAN.match(gtin):
            errors.add(p + "ean13", FORMAT)
            gtin = None
    image_url = _string(product, "image_url", p + "image_url", errors, required=False)
    if image_url is not None and not image_url.startswith(("http://", "https://")):
        errors.add(p + "image_url", URL)
        image_url = None
    custom = product.get("custom")
    if blank(custom) or custom == []:  # PHP's json_encode writes an empty array as []
        custom = {}
    elif not isinstance(custom, dict):
        errors.add(p + "custom", ARRAY)
        custom = {}
    return {
        "line_id": external_id,
        "sku": reference or external_id or "-",
        "gtin": gtin,
        "name": name,
        "quantity": quantity,
        "unit_price": format(price, "f") if price is not None else None,
        "image_url": image_url,
        "brand": _string(product, "brand", p + "brand", errors, required=False),
        "category": _string(product, "category", p + "category", errors, required=False),
        "supplier": _string(product, "supplier", p + "supplier", errors, required=False),
        "metadata": custom,
    }


# canonical pointer (first parts) → Dropday path
_TOP = {"order_ref": "external_id", "source": "source", "test": "test", "customer": "email"}
_ADDRESS = {
    "name": "first_name",
    "company": "company_name",
    "line1": "address1",
    "line2": "address2",
    "postal_code": "postcode",
    "city": "city",
    "region": "state",
    "country": "country",
    "phone": "phone",
}
_ITEM = {
    "line_id": "external_id",
    "sku": "reference",
    "gtin": "ean13",
    "name": "name",
    "quantity": "quantity",
    "unit_price": "price",
    "image_url": "image_url",
    "brand": "brand",
    "category": "category",
    "supplier": "supplier",
    "metadata": "custom",
}


def vendor_path(pointer: str) -> str:
    parts = [p for p in pointer.split("/") if p]
    if not parts:
        return "order"
    head = parts[0]
    if head == "totals":
        return "shipping_cost" if len(parts) > 1 and parts[1] == "shipping" else "total"
    if head == "shipping_address" and len(parts) > 1:
        if parts[1] == "email":
            return "email"
        return "shipping_address." + _ADDRESS.get(parts[1], parts[1])
    if head == "customer" and len(parts) > 1:
        if parts[1] == "email":
            return "email"
        return "shipping_address." + _ADDRESS.get(parts[1], parts[1])
    if head == "items" and len(parts) > 2:
        return f"products.{parts[1]}." + _ITEM.get(parts[2], parts[2])
    if head == "items":
        return "products"
    return _TOP.get(head, head)


def validate(body: Any) -> Order:
    """Translate and validate; :class:`Invalid` with every Laravel message otherwise."""
    canonical, errors = to_canonical(body)
    reported = set(errors.bag)
    try:
        order = validate_order(canonical)
    except ValidationFailed as exc:
        for e in exc.errors:
            path = vendor_path(e.pointer)
            if any(path == r or path.startswith(r + ".") for r in reported):
                continue  # Dropday's own rule already said what is wrong there
            errors.add(
                path, EMAIL if path == "email" else REQUIRED if e.code == "required" else INVALID
            )
    else:
        if not errors:
            return order
    raise Invalid(errors)


class Invalid(Exception):
    def __init__(self, errors: Errors) -> None:
        super().__init__("invalid Dropday order")
        self.errors = errors

    def body(self) -> dict[str, Any]:
        return {"message": "Errors", "errors": self.errors.bag}


# --- Dropday's order object --------------------------------------------------------------


def _timestamp(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _money(value: Any) -> float | None:
    return None if value is None else float(Decimal(value))


def render(order: StoredOrder) -> dict[str, Any]:
    """An order as Dropday's GET endpoints show it."""
    doc = order.render()
    address = doc.get("shipping_address") or {}
    customer = doc.get("customer") or {}
    fulfilled: dict[str, int] = {}
    for f in doc["fulfillments"]:
        for line in f["items"]:
            fulfilled[line["line_id"]] = fulfilled.get(line["line_id"], 0) + line["quantity"]
    lines = []
    for item in doc["items"]:
        if order.status == "cancelled":
            line_status = "declined"
        elif fulfilled.get(item["line_id"], 0) >= item["quantity"]:
            line_status = "completed"
        elif fulfilled.get(item["line_id"], 0):
            line_status = "partially_completed"
        else:
            line_status = "pending"
        lines.append(
            {
                "external_id": _REPEAT.sub("", item["line_id"]),
                "reference": item["sku"],
                "ean13": item["gtin"],
                "name": item["name"],
                "quantity": item["quantity"],
                "price": _money(item["unit_price"]),
                "image_url": item["image_url"],
                "brand": item["brand"],
                "category": item["category"],
                "supplier": item["supplier"],
                "custom": item["metadata"] or {},
                "current_status": line_status,
                "matched_supplier": None,
                "logs": [],
            }
        )
    totals = doc.get("totals") or {}
    return {
        "id": doc["id"],
        "external_id": doc["order_ref"],
        "reference": str(order.number),
        "source": doc["source"],
        "test": doc["test"],
        "blocked": False,
        "total": _money(totals.get("total")),
        "shipping_address": {
            "first_name": customer.get("first_name"),
            "last_name": customer.get("last_name"),
            "company_name": address.get("company"),
            "address1": address.get("line1"),
            "address2": address.get("line2"),
            "postcode": address.get("postal_code"),
            "city": address.get("city"),
            "state": address.get("region"),
            "country": address.get("country"),
            "phone": address.get("phone"),
            "email": customer.get("email"),
        },
        "shipping": {"cost": _money(totals.get("shipping"))},
        "custom": doc.get("metadata") or {},
        "order_lines": lines,
        "suppliers": [],
        "created_at": _timestamp(order.created_at),
        "updated_at": _timestamp(order.updated_at),
    }
