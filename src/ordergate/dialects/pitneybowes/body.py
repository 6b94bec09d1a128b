"""A Pitney Bowes order body (camelCase) → the canonical fields it sets, with PB's errors.

Pitney Bowes fields that the canonical order has no place for are kept in its metadata, so
that the order shows them again as they came: ``shippingReference`` as
``shipping_reference_<field>``, the rest under ``pb_`` keys (see ``docs/dialects.md``).
A PB ``metadata`` name becomes a metadata key by an encoding that can be reversed:
``costAccountName`` ↔ ``cost_account_name``, ``_`` ↔ ``__``.
"""

from __future__ import annotations

import functools
import re
from decimal import Decimal
from typing import Any

import pycountry
from pydantic import TypeAdapter, ValidationError

from ordergate.dialects.pitneybowes import (
    INVALID_COUNTRY,
    INVALID_EMAIL,
    INVALID_LENGTH,
    INVALID_POSTAL_CODE,
    INVALID_STATE,
    INVALID_TYPE,
    INVALID_VALUE,
    MISSING,
    Errors,
    dumps,
)
from ordergate.errors import FieldError, ValidationFailed
from ordergate.orders.fields import METADATA_MAX_VALUE_CHARS, MetadataValue, currency_exponent
from ordergate.orders.model import MAX_ITEMS, Order, validate_order

PB_PREFIX = "pb_"
SHIPPING_REFERENCE_PREFIX = "shipping_reference_"
SHIPPING_REFERENCE_FIELDS = (
    "reference1",
    "reference2",
    "reference3",
    "reference4",
    "shipperReference",
    "transportationReference",
    "shippingNotes",
)
# address field → (canonical field or None for a pb_ metadata key, max length)
ADDRESS_FIELDS: dict[str, tuple[str | None, int]] = {
    "name": ("name", 40),
    "company": ("company", 40),
    "addressLine1": ("line1", 40),
    "addressLine2": ("line2", 40),
    "addressLine3": (None, 40),
    "cityTown": ("city", 50),
    "stateProvince": ("region", 50),
    "postalCode": ("postal_code", 20),
    "countryCode": ("country", 2),
    "phone": ("phone", 15),
    "email": ("email", 50),
}
ADDRESSES = {
    "fromAddress": ("from_address", "pb_from_"),
    "toAddress": ("shipping_address", "pb_to_"),
}
_POSTAL_CODES = {
    "US": (re.compile(r"^[0-9]{5}(?:-[0-9]{4})?$"), "12345 or 12345-6789"),
    "CA": (re.compile(r"^[A-Za-z][0-9][A-Za-z] ?[0-9][A-Za-z][0-9]$"), "A1A 1A1"),
}
_MISSING: Any = object()
_METADATA_VALUE: TypeAdapter[Any] = TypeAdapter(MetadataValue)


@functools.cache
def _is_subdivision(country: str, code: str) -> bool:
    return pycountry.subdivisions.get(code=f"{country}-{code}") is not None  # type: ignore[no-untyped-call]


def encode_name(name: str) -> str | None:
    """A PB metadata name → a canonical metadata key (``[a-z0-9_]``), or None."""
    out = []
    for char in name:
        if char == "_":
            out.append("__")
        elif "A" <= char <= "Z":
            out.append("_" + char.lower())
        elif "a" <= char <= "z" or "0" <= char <= "9":
            out.append(char)
        else:
            return None
    key = "".join(out)
    return key if 0 < len(key) <= 64 else None


def decode_name(key: str) -> str:
    out = []
    i = 0
    while i < len(key):
        if key[i] == "_" and i + 1 < len(key):
            nxt = key[i + 1]
            out.append("_" if nxt == "_" else nxt.upper())
            i += 2
        else:
            out.append(key[i])
            i += 1
    return "".join(out)


def reference_key(name: str) -> str:
    """The metadata key of a ``shippingReference`` field (``shipperReference`` →
    ``shipping_reference_shipper_reference``)."""
    key = encode_name(name)
    assert key is not None  # the field names are plain camelCase
    return SHIPPING_REFERENCE_PREFIX + key


# metadata keys holding PB fields that the canonical order has no place for
KEPT_KEYS = frozenset(
    {
        "pb_charges_gmv",
        "pb_charges_billing_status",
        "pb_additional_addresses",
        "pb_shipping_preferences",
        *(
            f"{stash}{field}"
            for _, stash in ADDRESSES.values()
            for field in ("address_line3", "residential")
        ),
        *(reference_key(name) for name in SHIPPING_REFERENCE_FIELDS),
    }
)


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | Decimal):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "null"


class _Reader:
    """PB's checks over one JSON object; each returns the value, or ``_MISSING`` when the
    field is absent, null, or wrong (its error recorded)."""

    def __init__(self, data: dict[str, Any], prefix: str, errors: Errors) -> None:
        self.data = data
        self.prefix = prefix
        self.errors = errors

    def path(self, key: str) -> str:
        return self.prefix + key

    def _present(self, key: str, required: bool, *, text: bool = False) -> Any:
        """The value, or ``_MISSING`` for an absent or null one (for text, a blank one too)."""
        value = self.data.get(key)
        if value is None or (text and isinstance(value, str) and not value.strip()):
            if required:
                self.errors.add(self.path(key), MISSING, f"{self.path(key)} is required")
            return _MISSING
        return value

    def text(self, key: str, max_length: int, *, required: bool = False) -> Any:
        value = self._present(key, required, text=True)
        if value is _MISSING:
            return value
        if not isinstance(value, str):
            self.errors.add(self.path(key), INVALID_TYPE, f"{self.path(key)} must be a string")
            return _MISSING
        if len(value) > max_length:
            self.errors.add(
                self.path(key),
                INVALID_LENGTH,
                f"{self.path(key)} must be at most {max_length} characters",
            )
            return _MISSING
        return value

    def number(self, key: str, *, required: bool = False) -> Any:
        """A JSON number, kept exactly as written (never through a binary float)."""
        value = self._present(key, required)
        if value is _MISSING:
            return value
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            self.errors.add(self.path(key), INVALID_TYPE, f"{self.path(key)} must be a number")
            return _MISSING
        number = Decimal(value)
        exponent = number.as_tuple().exponent
        if (
            not number.is_finite()
            or number < 0
            or number.adjusted() >= 12
            or (isinstance(exponent, int) and exponent < -20)  # 1e-999999999: not written out
        ):
            description = f"{self.path(key)} must be a number from 0 to 999999999999.9999"
            self.errors.add(self.path(key), INVALID_VALUE, description)
            return _MISSING
        # 90, 90.0 and 90.00 are one amount: written without trailing zeros (the currency's
        # minor unit is applied later, when there is a currency)
        return format(number.normalize(), "f") if number else "0"

    def integer(self, key: str, *, low: int, high: int) -> Any:
        value = self._present(key, False)
        if value is _MISSING:
            return value
        ok = isinstance(value, int | Decimal) and not isinstance(value, bool)
        if ok and isinstance(value, Decimal):
            ok = value.is_finite() and value == value.to_integral_value() and value.adjusted() < 18
        if not ok:
            self.errors.add(self.path(key), INVALID_TYPE, f"{self.path(key)} must be an integer")
            return _MISSING
        number = int(value)
        if not low <= number <= high:
            description = f"{self.path(key)} must be from {low} to {high}"
            self.errors.add(self.path(key), INVALID_VALUE, description)
            return _MISSING
        return number

    def boolean(self, key: str) -> Any:
        value = self._present(key, False)
        if value is _MISSING:
            return value
        if not isinstance(value, bool):
            self.errors.add(self.path(key), INVALID_TYPE, f"{self.path(key)} must be a boolean")
            return _MISSING
        return value

    def object(self, key: str, *, required: bool = False) -> Any:
        value = self._present(key, required)
        if value is _MISSING:
            return value
        if not isinstance(value, dict):
            self.errors.add(self.path(key), INVALID_TYPE, f"{self.path(key)} must be an object")
            return _MISSING
        return value

    def array(self, key: str, *, required: bool = False) -> Any:
        value = self._present(key, required)
        if value is _MISSING:
            return value
        if not isinstance(value, list):
            self.errors.add(self.path(key), INVALID_TYPE, f"{self.path(key)} must be an array")
            return _MISSING
        return value


def _or_none(value: Any) -> Any:
    return None if value is _MISSING else value


def _address(f: _Reader, key: str, order: dict[str, Any], metadata: dict[str, Any]) -> None:
    canonical_key, stash = ADDRESSES[key]
    data = f.object(key, required=True)
    if data is _MISSING:
        return
    a = _Reader(data, f"{key}.", f.errors)
    address: dict[str, Any] = {}
    for name, (canonical, max_length) in ADDRESS_FIELDS.items():
        value = a.text(name, max_length, required=name in ("addressLine1", "countryCode"))
        if canonical is not None:
            address[canonical] = _or_none(value)
        elif value is not _MISSING:
            metadata[stash + "address_line3"] = value
    residential = a.boolean("residential")
    if residential is not _MISSING:
        metadata[stash + "residential"] = residential
    country = address["country"]
    if country is not None:
        found = pycountry.countries.get(alpha_2=country.upper()) if len(country) == 2 else None
        if found is None:
            f.errors.add(
                f"{key}.countryCode",
                INVALID_COUNTRY,
                f"{key}.countryCode must be an ISO 3166-1 alpha-2 country code",
            )
            address["country"] = country = None
        else:
            address["country"] = country = country.upper()
    if country in _POSTAL_CODES:
        pattern, example = _POSTAL_CODES[country]
        for field in ("postalCode", "stateProvince"):
            if not str(data.get(field) or "").strip() and not f.errors.has(f"{key}.{field}"):
                f.errors.add(f"{key}.{field}", MISSING, f"{key}.{field} is required for {country}")
        postal = address["postal_code"]
        if postal is not None and not pattern.match(postal.strip()):
            f.errors.add(
                f"{key}.postalCode",
                INVALID_POSTAL_CODE,
                f"{key}.postalCode is not a {country} postal code (like {example})",
            )
        state = address["region"]
        if state is not None and not _is_subdivision(country, state.upper()):
            f.errors.add(
                f"{key}.stateProvince",
                INVALID_STATE,
                f"{key}.stateProvince must be a two-letter {country} state or province code",
            )
    city = address["city"]
    if city is None and not f.errors.has(f"{key}.cityTown"):
        f.errors.add(f"{key}.cityTown", MISSING, f"{key}.cityTown is required")
    order[canonical_key] = address


def _item(i: int, raw: Any, errors: Errors) -> dict[str, Any]:
    path = f"items[{i}]"
    if not isinstance(raw, dict):
        errors.add(path, INVALID_TYPE, f"{path} must be an object")
        return {"line_id": str(i + 1), "sku": "-"}
    f = _Reader(raw, path + ".", errors)
    custom = f.text("customProductId", 255)
    sku = f.text("sku", 255)
    if custom is _MISSING and sku is _MISSING and not errors.has(path):
        errors.add(f"{path}.sku", MISSING, f"{path}.customProductId or {path}.sku is required")
    metadata: dict[str, Any] = {}
    description = f.text("description", 1000)
    if description is not _MISSING:
        metadata["pb_description"] = description
    if custom is not _MISSING:
        metadata["pb_custom_product_id"] = True
        if sku is not _MISSING:  # both: the line's sku is the product id; the sku is kept
            metadata["pb_sku"] = sku
    quantity = f.integer("quantity", low=1, high=1_000_000)
    return {
        "line_id": str(i + 1),
        "sku": custom if custom is not _MISSING else _or_none(sku) or "-",
        "name": _or_none(f.text("name", 1000)),
        "quantity": 1 if quantity is _MISSING else quantity,
        "unit_price": _or_none(f.number("unitPrice")),
        "metadata": metadata,
    }


def _canonical_json(value: Any) -> Any:
    """Free-form JSON as kept: object keys sorted, numbers without trailing zeros, so that
    the same data sent again is the same text. None for a number too large to keep."""
    if isinstance(value, dict):
        out = {}
        for k in sorted(value):
            out[k] = _canonical_json(value[k])
            if out[k] is _MISSING:
                return _MISSING
        return out
    if isinstance(value, list):
        items = [_canonical_json(v) for v in value]
        return _MISSING if any(v is _MISSING for v in items) else items
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    number = Decimal(value)
    if not number.is_finite() or not -40 < number.adjusted() < 40:
        return _MISSING
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -40:
        return _MISSING
    return number.normalize() if number else Decimal(0)


def _kept_json(f: _Reader, key: str, value: Any, metadata: dict[str, Any], stash: str) -> None:
    kept = _canonical_json(value)
    if kept is _MISSING:
        description = f"{f.path(key)} holds a number that cannot be kept (beyond ±1e40)"
        f.errors.add(f.path(key), INVALID_VALUE, description)
        return
    text = dumps(kept).decode()
    if len(text) > METADATA_MAX_VALUE_CHARS:
        f.errors.add(
            f.path(key),
            INVALID_LENGTH,
            f"{f.path(key)} must be at most {METADATA_MAX_VALUE_CHARS} characters as JSON",
        )
    else:
        metadata[stash] = text


def to_canonical(body: Any) -> tuple[dict[str, Any], Errors]:
    """The canonical order of a PB create body, as far as it translates, and PB's errors."""
    errors = Errors()
    if not isinstance(body, dict):
        errors.add(None, INVALID_TYPE, "The request body must be a JSON object")
        return {}, errors
    f = _Reader(body, "", errors)
    number = f.text("orderNumber", 255, required=True)
    metadata: dict[str, Any] = {}
    order: dict[str, Any] = {
        "order_ref": _or_none(number),
        "order_number": _or_none(number),
    }
    message = f.object("orderMessage")
    if message is not _MISSING:
        m = _Reader(message, "orderMessage.", errors)
        order["message"] = {
            "type": _or_none(m.text("type", 64)),
            "text": _or_none(m.text("message", 2000)),
        }

    entries = f.array("metadata")
    if entries is not _MISSING:
        for i, entry in enumerate(entries):
            path = f"metadata[{i}]"
            if not isinstance(entry, dict):
                errors.add(path, INVALID_TYPE, f"{path} must be an object")
                continue
            e = _Reader(entry, path + ".", errors)
            name = e.text("name", 64, required=True)
            if name is _MISSING:
                continue
            key = encode_name(name)
            if key is None or key.startswith((PB_PREFIX, SHIPPING_REFERENCE_PREFIX)):
                errors.add(
                    f"{path}.name",
                    INVALID_VALUE,
                    f"{path}.name must be letters and digits (and _), not starting with pb or "
                    "shippingReference",
                )
            elif key in metadata:
                errors.add(f"{path}.name", INVALID_VALUE, f"{path}.name {name!r} is repeated")
            else:
                try:
                    metadata[key] = _METADATA_VALUE.validate_python(entry.get("value"))
                except ValidationError as exc:
                    detail = exc.errors(include_url=False)[0]["msg"]
                    errors.add(f"{path}.value", INVALID_VALUE, f"{path}.value: {detail}")

    charges = f.object("charges")
    if charges is not _MISSING:
        c = _Reader(charges, "charges.", errors)
        order["currency"] = _or_none(c.text("currency", 3))
        order["totals"] = {
            "total": _or_none(c.number("totalPaid")),
            "subtotal": _or_none(c.number("subTotal")),
        }
        gmv = c.number("gmv")
        if gmv is not _MISSING:  # an amount like the totals, kept in metadata
            currency = order["currency"]
            digits = currency_exponent(currency.upper()) if currency else None
            amount = Decimal(gmv)
            places = -int(amount.as_tuple().exponent)
            if places > (4 if digits is None else digits):
                description = f"charges.gmv has more decimal places than {currency or 'allowed'}"
                errors.add("charges.gmv", INVALID_VALUE, description)
            else:
                if digits is not None:
                    amount = amount.quantize(Decimal(1).scaleb(-digits))
                metadata["pb_charges_gmv"] = format(amount, "f")
        order["payment_method"] = _or_none(c.text("paymentType", 255))
        status = c.text("billingStatus", 64)
        if status is not _MISSING:
            metadata["pb_charges_billing_status"] = status

    reference = f.object("shippingReference")
    if reference is not _MISSING:
        r = _Reader(reference, "shippingReference.", errors)
        for name in SHIPPING_REFERENCE_FIELDS:
            value = r.text(name, 1000 if name == "shippingNotes" else 255)
            if value is not _MISSING:
                metadata[reference_key(name)] = value

    customer = f.object("customerInfo")
    if customer is not _MISSING:
        c = _Reader(customer, "customerInfo.", errors)
        order["customer"] = {
            "first_name": _or_none(c.text("firstName", 255)),
            "last_name": _or_none(c.text("lastName", 255)),
            "email": _or_none(c.text("email", 320)),
            "customer_ref": _or_none(c.text("customerId", 255)),
        }

    for key in ADDRESSES:
        _address(f, key, order, metadata)

    items = f.array("items", required=True)
    if items is not _MISSING:
        if not items:
            errors.add("items", MISSING, "items must have at least one item")
        elif len(items) > MAX_ITEMS:
            errors.add("items", INVALID_LENGTH, f"items must have at most {MAX_ITEMS} items")
        else:
            order["items"] = [_item(i, raw, errors) for i, raw in enumerate(items)]

    extra = f.array("additionalAddresses")
    if extra is not _MISSING:
        _kept_json(f, "additionalAddresses", extra, metadata, "pb_additional_addresses")
    preferences = f.object("shippingPreferences")
    if preferences is not _MISSING:
        _kept_json(f, "shippingPreferences", preferences, metadata, "pb_shipping_preferences")
    order["metadata"] = metadata
    return order, errors


# canonical item fields that a PB item sets (the rest of a stored line is kept by a patch)
_ITEM_FIELDS = ("sku", "name", "quantity", "unit_price")
_OWNED = ("message", "currency", "payment_method", "from_address", "shipping_address", "metadata")


def _carried(key: str) -> bool:
    """Whether an order's metadata key is shown by PB's order object (and so replaced by
    what a patch sends): a key a PB name encodes to, or one of PB's own kept fields."""
    if key.startswith((PB_PREFIX, SHIPPING_REFERENCE_PREFIX)):
        return key in KEPT_KEYS
    return encode_name(decode_name(key)) == key


def overlay(stored: dict[str, Any], canonical: dict[str, Any]) -> dict[str, Any]:
    """A stored order with what a PB body sets replaced by ``canonical``: the fields PB
    carries change, the rest (a billing address, a line's GTIN, tags, metadata keys PB
    cannot name, ...) stays. Lines are matched by position, as PB's items have no ids; a
    line keeps its ``line_id``."""
    doc = dict(stored)
    for key in _OWNED:
        doc[key] = canonical.get(key)
    doc["metadata"] = {
        **{k: v for k, v in (stored.get("metadata") or {}).items() if not _carried(k)},
        **(canonical.get("metadata") or {}),
    }
    new_totals = canonical.get("totals") or {}
    if stored.get("totals") is not None or any(new_totals.values()):
        totals = dict(stored.get("totals") or {})
        totals.update({k: new_totals.get(k) for k in ("total", "subtotal")})
        doc["totals"] = totals
    new_customer = canonical.get("customer") or {}
    if stored.get("customer") is not None or any(new_customer.values()):
        customer = dict(stored.get("customer") or {})
        customer.update({k: new_customer.get(k) for k in _CUSTOMER_OUT})
        doc["customer"] = customer
    old_currency = stored.get("currency")
    old_items = stored.get("items") or []
    taken = {item["line_id"] for item in old_items}
    items = []
    for i, new in enumerate(canonical.get("items") or []):
        if i < len(old_items):
            old = old_items[i]
            item = {k: v for k, v in old.items() if k not in _ITEM_FIELDS}
            if item.get("currency") == old_currency:
                item.pop("currency", None)  # the order's: follows a new order currency
            kept = {
                k: v for k, v in (old.get("metadata") or {}).items() if not k.startswith(PB_PREFIX)
            }
            item.update({k: new[k] for k in _ITEM_FIELDS})
            item["metadata"] = {**kept, **new["metadata"]}
        else:
            line_id = str(i + 1)
            while line_id in taken:
                line_id += "+"
            taken.add(line_id)
            item = {**new, "line_id": line_id}
        items.append(item)
    doc["items"] = items
    return doc


# --- canonical errors → PB paths -------------------------------------------------------------

_ADDRESS_OUT = {canonical: pb for pb, (canonical, _) in ADDRESS_FIELDS.items() if canonical}
_TOP_OUT = {
    "order_ref": "orderNumber",
    "order_number": "orderNumber",
    "message": "orderMessage",
    "currency": "charges.currency",
    "payment_method": "charges.paymentType",
    "items": "items",
}
_CUSTOMER_OUT = {
    "first_name": "firstName",
    "last_name": "lastName",
    "email": "email",
    "customer_ref": "customerId",
}
_ITEM_OUT = {"sku": "sku", "name": "name", "quantity": "quantity", "unit_price": "unitPrice"}
_WHOLE_OUT = {
    "customer": "customerInfo",
    "shipping_address": "toAddress",
    "from_address": "fromAddress",
    "totals": "charges",
    "message": "orderMessage",
    "currency": "charges.currency",
}
_ITEM_KEPT_OUT = {
    "pb_description": "description",
    "pb_custom_product_id": "customProductId",
    "pb_sku": "sku",
}
_KEPT_OUT = {
    "pb_charges_gmv": "charges.gmv",
    "pb_charges_billing_status": "charges.billingStatus",
    "pb_additional_addresses": "additionalAddresses",
    "pb_shipping_preferences": "shippingPreferences",
    "pb_from_address_line3": "fromAddress.addressLine3",
    "pb_from_residential": "fromAddress.residential",
    "pb_to_address_line3": "toAddress.addressLine3",
    "pb_to_residential": "toAddress.residential",
}


def vendor_path(pointer: str) -> str:
    """The PB field that a canonical pointer's value came from."""
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    if not parts:
        return "order"
    head, rest = parts[0], parts[1:]
    if not rest and head in _WHOLE_OUT:
        return _WHOLE_OUT[head]
    if head == "items" and len(rest) >= 2 and rest[1] == "currency":
        return "charges.currency"
    if head == "items" and len(rest) >= 3 and rest[1] == "metadata":
        return f"items[{rest[0]}]." + _ITEM_KEPT_OUT.get(rest[2], rest[2])
    if head == "metadata" and rest and rest[0] in _KEPT_OUT:
        return _KEPT_OUT[rest[0]]
    if head in ("from_address", "shipping_address") and rest:
        pb = "fromAddress" if head == "from_address" else "toAddress"
        return f"{pb}.{_ADDRESS_OUT.get(rest[0], rest[0])}"
    if head == "customer" and rest:
        return f"customerInfo.{_CUSTOMER_OUT.get(rest[0], rest[0])}"
    if head == "totals" and rest:
        return {"total": "charges.totalPaid", "subtotal": "charges.subTotal"}.get(
            rest[0], "charges"
        )
    if head == "message" and rest:
        return "orderMessage." + ("message" if rest[0] == "text" else rest[0])
    if head == "items" and len(rest) >= 2:
        return f"items[{rest[0]}].{_ITEM_OUT.get(rest[1], rest[1])}"
    if head == "items" and rest:
        return f"items[{rest[0]}]"
    if head == "metadata" and rest:
        if rest[0].startswith(SHIPPING_REFERENCE_PREFIX):
            return "shippingReference." + decode_name(rest[0][len(SHIPPING_REFERENCE_PREFIX) :])
        if rest[0] == "pb_charges_gmv":
            return "charges.gmv"
        return "metadata"
    return _TOP_OUT.get(head, head)


def _code(error: FieldError) -> str:
    if error.code == "required":
        return MISSING
    if error.code == "invalid_email":
        return INVALID_EMAIL
    if error.code == "invalid_country":
        return INVALID_COUNTRY
    if error.code in ("too_long", "string_too_long"):
        return INVALID_LENGTH
    return INVALID_VALUE


def validate(canonical: dict[str, Any], errors: Errors) -> Order | None:
    """The canonical order, or None with every remaining error added in PB's terms (a field
    PB's own checks already reported is not reported twice)."""
    try:
        order = validate_order({k: v for k, v in canonical.items() if v is not None})
    except ValidationFailed as exc:
        for error in exc.errors:
            path = vendor_path(error.pointer)
            if errors.has(path):
                continue
            errors.add(path, _code(error), f"{path}: {error.detail}")
        return None
    return None if errors else order
