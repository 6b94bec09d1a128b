"""A parcelLab order body (PUT or POST ``/v4/track/orders/``) → a canonical merge patch,
the mutations to apply after it, and DRF's errors for every field that is wrong.

parcelLab merges what it is sent with what it has, so a body is read as a set of changes:
:func:`read` turns each field that is present into a change of the canonical document (a
JSON merge patch: ``null`` clears, objects merge, lists replace), and :func:`document`
applies them to the stored order (or to nothing, for a new one). The canonical validation
then runs on the whole result, and what it still finds is reported on the parcelLab field
it came from (:func:`vendor_attr`).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from ordergate.dialects.parcellab import Errors
from ordergate.dialects.parcellab.fields import (
    EMAIL,
    EMPTY,
    NOT_STRING,
    REQUIRED,
    SKIP,
    Reader,
    not_a_choice,
    not_a_dict,
    not_a_list,
    too_long,
)
from ordergate.errors import FieldError, ValidationFailed
from ordergate.orders.documents import merge_patch
from ordergate.orders.model import MAX_ITEMS, MAX_TAGS, Order, validate_order

TAG = re.compile(r"^[^:]+:.+$", re.DOTALL)
REASONS = ("customer", "inventory", "payment", "other")
MUTATION_TYPES = ("add_tracking", "cancel_tracking", "cancel_order", "change_line_item_quantity")
# Metadata keys that hold parcelLab fields with no canonical home; additional_attributes
# may not use the prefix.
RESERVED = "parcellab_"
ORDER_STATUS_KEY = "parcellab_order_status"
MAX_QUANTITY = 1_000_000
MAX_MUTATIONS = 100


# --- mutations --------------------------------------------------------------------------------


@dataclass(slots=True)
class TrackedLine:
    line_item_id: str
    quantity: int | None  # None: whatever is left of the line


@dataclass(slots=True)
class Mutation:
    """One entry of ``mutations``, checked; applied by the route after the order fields."""

    type: str
    reason: str | None = None  # cancel_order
    cancelled_at: dt.datetime | None = None
    tracking_number: str | None = None  # add_tracking
    courier: str | None = None
    articles: list[TrackedLine] | None = None
    line_item_id: str | None = None  # change_line_item_quantity
    quantity: int | None = None


def _mutation(i: int, raw: Any, errors: Errors) -> Mutation | None:
    prefix = f"mutations.{i}"
    if not isinstance(raw, dict):
        errors.add(prefix, *not_a_dict(raw))
        return None
    f = Reader(raw, prefix + ".", errors)
    kind = f.choice("type", MUTATION_TYPES, required=True)
    if kind is SKIP:
        return None
    m = Mutation(type=kind)
    if kind == "cancel_order":
        reason = f.choice("cancelled_reason", REASONS)
        m.reason = reason if isinstance(reason, str) else None
        at = f.datetime("cancelled_date")
        m.cancelled_at = None if at is SKIP else at
    elif kind == "add_tracking":
        tracking = f.raw("tracking", nullable=False, required=True)
        if tracking is SKIP:
            return None
        if not isinstance(tracking, dict):
            errors.add(prefix + ".tracking", *not_a_dict(tracking))
            return None
        t = Reader(tracking, prefix + ".tracking.", errors)
        number = t.text("tracking_number", 255, nullable=False, required=True)
        courier = t.text("courier", 255, nullable=False, required=True)
        articles = t.array("articles") if tracking.get("articles") is not None else SKIP
        lines: list[TrackedLine] | None = None
        if articles == []:
            errors.add(prefix + ".tracking.articles", *EMPTY)
        elif articles is not SKIP:
            lines = []
            for j, article in enumerate(articles):
                at_j = f"{prefix}.tracking.articles.{j}"
                if not isinstance(article, dict):
                    errors.add(at_j, *not_a_dict(article))
                    continue
                a = Reader(article, at_j + ".", errors)
                line = a.text("line_item_id", 64, nullable=False, required=True)
                qty = (
                    a.integer("quantity", low=1, high=MAX_QUANTITY)
                    if article.get("quantity") is not None
                    else None
                )
                if line is not SKIP and qty is not SKIP:
                    lines.append(TrackedLine(line, qty))
        if number is SKIP or courier is SKIP:
            return None
        m.tracking_number, m.courier, m.articles = number, courier, lines
    elif kind == "change_line_item_quantity":
        line = f.text("line_item_id", 64, nullable=False, required=True)
        qty = f.integer("quantity", low=1, high=MAX_QUANTITY, required=True)
        if line is SKIP or qty is SKIP:
            return None
        m.line_item_id, m.quantity = line, qty
    return m


# --- the body -----------------------------------------------------------------------------

# parcelLab address field → canonical address field
_ADDRESS_TEXT = {
    "company": ("company", 255),
    "address_line": ("line1", 255),
    "address_line_2": ("line2", 255),
    "postal_code": ("postal_code", 32),
    "city": ("city", 255),
    "region": ("region", 255),
    "phone": ("phone", 64),
    "email": ("email", 320),
}
_ADDRESS_REQUIRED = ("address_line", "postal_code", "city", "country_iso3")
ADDRESS_FIELDS = ("name", "company", "line1", "line2", "postal_code", "city", "region",
                  "country", "phone", "email")  # fmt: skip
# an address without the parts the order's recipient fields also carry
_STREET = ("company", "line1", "line2", "postal_code", "city", "region", "phone", "email")
# money field → canonical totals field
TOTALS = {
    "order_total_amount": "total",
    "order_tax_amount": "tax",
    "order_net_amount": "subtotal",
    "order_discount_amount": "discount",
    "shipping_cost_total": "shipping",
}
# simple text fields → (canonical field, max length)
_TEXT = {
    "order_number": ("order_number", 255),
    "client_key": ("source", 255),
    "language_iso2": ("language", 3),
    "delivery_method": ("delivery_method", 255),
    "invoice_number": ("invoice_number", 255),
    "payment_method": ("payment_method", 255),
    "order_currency": ("currency", 3),
    "channel": ("channel", 255),
    "timezone": ("timezone", 64),
}
ANNOUNCED = {
    "announced_delivery_date": "date",
    "announced_delivery_date_min": "earliest",
    "announced_delivery_date_max": "latest",
}
_ARTICLE_TEXT = {
    "line_item_id": ("line_id", 64),
    "sku": ("sku", 255),
    "article_name": ("name", 1000),
    "article_image_url": ("image_url", 2048),
    "article_category": ("category", 255),
}


@dataclass(slots=True)
class Body:
    """What one PUT/POST body asks for."""

    key: str | None = None  # the order's identity: external_reference, else order_number
    key_attr: str = "order_number"
    account: int | None = None
    patch: dict[str, Any] = field(default_factory=dict)  # canonical merge patch
    articles: list[dict[str, Any]] | None = None  # canonical item fields sent, per article
    mutations: list[Mutation] = field(default_factory=list)
    cancelled_reason: str | None = None  # defaults for cancel_order
    cancelled_at: dt.datetime | None = None
    sent: set[str] = field(default_factory=set)  # top-level fields present
    clear_attributes: bool = False  # additional_attributes: null

    def set(self, path: tuple[str, ...], value: Any) -> None:
        node = self.patch
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value


def _address(f: Reader, key: str, body: Body, errors: Errors) -> None:
    value = f.object(key)
    if value is SKIP:
        return
    if value is None or value == {}:  # parcelLab's "no address"
        # The shipping address also holds the loose recipient fields, which stay.
        body.patch[key] = dict.fromkeys(_STREET) if key == "shipping_address" else None
        return
    a = Reader(value, f"{key}.", errors)
    # Sent whole: what it leaves out is cleared, except the name and phone, which the
    # recipient fields also carry; they change only when the address has them.
    address: dict[str, Any] = dict.fromkeys(_STREET)
    for vendor, (canonical, max_length) in _ADDRESS_TEXT.items():
        text = a.text(vendor, max_length, nullable=vendor not in _ADDRESS_REQUIRED,
                      required=vendor in _ADDRESS_REQUIRED)  # fmt: skip
        if text is not SKIP:
            address[canonical] = text
    country = a.country("country_iso3", required=True)
    if country is not SKIP:
        address["country"] = country
    if "phone" not in value:
        address.pop("phone")
    if "first_name" in value or "last_name" in value:
        first = a.text("first_name", 255)
        last = a.text("last_name", 255)
        names = [n for n in (first, last) if isinstance(n, str)]
        address["name"] = " ".join(names) or None
    body.patch[key] = address


def _article(i: int, raw: Any, errors: Errors) -> dict[str, Any]:
    prefix = f"articles_order.{i}"
    if not isinstance(raw, dict):
        errors.add(prefix, *not_a_dict(raw))
        return {}
    a = Reader(raw, prefix + ".", errors)
    item: dict[str, Any] = {}
    for vendor, (canonical, max_length) in _ARTICLE_TEXT.items():
        value = a.text(vendor, max_length, nullable=vendor != "line_item_id")
        if value is not SKIP:
            item[canonical] = value
    quantity = a.integer("quantity", low=1, high=MAX_QUANTITY)
    if quantity is not SKIP:
        item["quantity"] = quantity
    price = a.money("unit_price")
    if price is not SKIP:
        item["unit_price"] = price
    return item


def read(raw: Any) -> tuple[Body, Errors]:
    """Read a body in parcelLab's shape: what it changes, and DRF's errors."""
    errors = Errors()
    body = Body()
    if not isinstance(raw, dict):
        errors.add("non_field_errors", *not_a_dict(raw))
        return body, errors
    body.sent = set(raw)
    f = Reader(raw, "", errors)

    account = f.integer("account", low=0, high=2**63 - 1)
    body.account = None if account is SKIP else account
    reference = f.text("external_reference", 255, nullable=False)
    keyed_by_number = "external_reference" not in raw
    number = f.text("order_number", 255, nullable=not keyed_by_number)
    if not keyed_by_number:
        body.key_attr = "external_reference"
        body.key = reference if isinstance(reference, str) else None
    elif isinstance(number, str):
        body.key = number

    for vendor, (canonical, max_length) in _TEXT.items():
        value = number if vendor == "order_number" else f.text(vendor, max_length)
        if value is not SKIP:
            body.set((canonical,), value)
    for vendor, canonical in TOTALS.items():
        value = f.money(vendor)
        if value is not SKIP:
            body.set(("totals", canonical), value)
    for vendor, canonical in ANNOUNCED.items():
        value = f.date(vendor)
        if value is not SKIP:
            body.set(("promised_delivery", canonical), value)
    placed = f.datetime("order_date")
    if placed is not SKIP:
        body.set(("placed_at",), None if placed is None else placed.isoformat())

    email = f.text("recipient_email", 320, nullable=False)
    if email is not SKIP:
        body.set(("customer", "email"), None if email == "_unset" else email)
    customer_number = f.text("customer_number", 255)
    if customer_number is not SKIP:
        body.set(("customer", "customer_ref"), customer_number)

    _address(f, "shipping_address", body, errors)
    _address(f, "billing_address", body, errors)
    # Loose recipient fields: parts of the shipping address. recipient_name wins over the
    # address's first and last name; the address's country over destination_country_iso3.
    loose: dict[str, Any] = {}
    destination = f.country("destination_country_iso3")
    if destination is not SKIP:
        loose["country"] = destination
    for vendor, canonical, max_length in (("recipient_name", "name", 255),
                                          ("recipient_phone", "phone", 64)):  # fmt: skip
        value = f.text(vendor, max_length)
        if value is not SKIP:
            loose[canonical] = value
    if loose:
        address = body.patch.get("shipping_address")
        if isinstance(address, dict):  # sent (whole or as {})
            if "country" in address:
                loose.pop("country", None)
            address.update(loose)
        else:
            body.patch["shipping_address"] = loose

    status = f.text("order_status", 255)
    if status is not SKIP:
        body.set(("metadata", ORDER_STATUS_KEY), status)
    f.boolean("has_multiple_shipments")  # checked; nothing in ordergate holds it

    reason = f.choice("cancelled_reason", REASONS)
    body.cancelled_reason = reason if isinstance(reason, str) else None
    cancelled = f.datetime("cancelled_date")
    body.cancelled_at = None if cancelled is SKIP else cancelled

    tags = f.raw("tags")
    if tags is None:
        body.set(("tags",), [])
    elif tags is not SKIP:
        if not isinstance(tags, list):
            errors.add("tags", *not_a_list(tags))
        elif len(tags) > MAX_TAGS:
            errors.add(
                "tags", "max_length", f"Ensure this field has no more than {MAX_TAGS} elements."
            )
        else:
            good = []
            for i, tag in enumerate(tags):
                if not isinstance(tag, str):
                    errors.add(f"tags.{i}", *NOT_STRING)
                elif len(tag) > 255:
                    errors.add(f"tags.{i}", *too_long(255))
                elif not TAG.match(tag):
                    errors.add(f"tags.{i}", "invalid", 'Enter a tag of the form "key:value".')
                else:
                    good.append(tag)
            body.set(("tags",), good)

    attributes = f.object("additional_attributes")
    body.clear_attributes = attributes is None
    if isinstance(attributes, dict):
        for key, value in attributes.items():
            if key.startswith(RESERVED):
                errors.add(
                    f"additional_attributes.{key}",
                    "invalid",
                    f'Attribute names starting with "{RESERVED}" are reserved.',
                )
            else:
                body.set(("metadata", key), value)

    articles = f.array("articles_order")
    if articles is not SKIP:
        if len(articles) > MAX_ITEMS:
            errors.add(
                "articles_order",
                "max_length",
                f"Ensure this field has no more than {MAX_ITEMS} elements.",
            )
        else:
            body.articles = [_article(i, a, errors) for i, a in enumerate(articles)]

    mutations = f.array("mutations")
    if mutations is not SKIP and len(mutations) > MAX_MUTATIONS:
        errors.add(
            "mutations",
            "max_length",
            f"Ensure this field has no more than {MAX_MUTATIONS} elements.",
        )
    elif mutations is not SKIP:
        for i, raw_mutation in enumerate(mutations):
            m = _mutation(i, raw_mutation, errors)
            if m is not None:
                body.mutations.append(m)
    return body, errors


def require_for_create(body: Body, errors: Errors) -> None:
    """A new order needs an identity, a recipient email and at least one article."""
    if body.key is None and not errors.has("external_reference") and not errors.has("order_number"):
        errors.add("order_number", *REQUIRED)
    if "recipient_email" not in body.sent:
        errors.add("recipient_email", *REQUIRED)
    if body.articles is None and not errors.has("articles_order"):
        errors.add("articles_order", *REQUIRED)
    elif body.articles == []:
        errors.add("articles_order", *EMPTY)


def _items(articles: list[dict[str, Any]], stored: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The new lines: each article sent, over the stored line with the same line_item_id
    (so that what parcelLab does not carry, a GTIN or a brand, is kept)."""
    by_line = {item["line_id"]: item for item in stored}
    items = []
    for i, article in enumerate(articles):
        line_id = article.get("line_id") or str(i + 1)
        item = {k: v for k, v in by_line.get(line_id, {}).items() if v is not None}
        item.update({k: v for k, v in article.items() if v is not None})
        for k, v in article.items():
            if v is None:
                item.pop(k, None)
        item["line_id"] = line_id
        if not item.get("sku"):  # parcelLab lines may have no SKU: the line id stands in
            item["sku"] = line_id
        items.append(item)
    return items


def document(body: Body, stored: dict[str, Any] | None) -> dict[str, Any]:
    """The canonical order this body asks for: the stored one with the changes merged."""
    base: dict[str, Any] = dict(stored) if stored is not None else {"order_ref": body.key}
    if body.clear_attributes:  # the client's attributes go, parcelLab's own fields stay
        base["metadata"] = {
            k: v for k, v in (base.get("metadata") or {}).items() if k.startswith(RESERVED)
        }
    doc = merge_patch(base, body.patch)
    if body.articles is not None:
        doc["items"] = _items(body.articles, (stored or {}).get("items") or [])
    before = stored or {}
    if doc.get("currency") != before.get("currency"):
        # a line's currency that was the order's follows the order's new one
        doc["items"] = [
            {k: v for k, v in item.items() if not (k == "currency" and v == before.get("currency"))}
            for item in doc.get("items") or []
        ]
    for key in _OBJECTS:
        if before.get(key) is None and _empty(doc.get(key)):
            doc[key] = None  # nulls sent for an object the order does not have: still none
    return {k: v for k, v in doc.items() if v is not None}


_OBJECTS = ("customer", "shipping_address", "billing_address", "totals", "promised_delivery")


def _empty(value: Any) -> bool:
    return isinstance(value, dict) and all(v is None or _empty(v) for v in value.values())


# --- canonical errors → parcelLab attrs ------------------------------------------------------

_TOP_OUT = {canonical: vendor for vendor, (canonical, _) in _TEXT.items()}
_TOP_OUT.update({"placed_at": "order_date", "tags": "tags", "items": "articles_order"})
_ADDRESS_OUT = {canonical: vendor for vendor, (canonical, _) in _ADDRESS_TEXT.items()}
_ADDRESS_OUT.update({"country": "country_iso3", "name": "first_name"})
_ITEM_OUT = {canonical: vendor for vendor, (canonical, _) in _ARTICLE_TEXT.items()}
_ITEM_OUT.update({"quantity": "quantity", "unit_price": "unit_price"})
_TOTALS_OUT = {canonical: vendor for vendor, canonical in TOTALS.items()}
_ANNOUNCED_OUT = {canonical: vendor for vendor, canonical in ANNOUNCED.items()}


def vendor_attr(pointer: str, body: Body) -> str:
    """The parcelLab field that a canonical pointer's value came from."""
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    if not parts:
        return "non_field_errors"
    head, rest = parts[0], parts[1:]
    if head == "order_ref":
        return body.key_attr
    if head in ("shipping_address", "billing_address") and rest:
        sent_whole = head in body.sent
        if head == "shipping_address" and not sent_whole:
            loose = {"country": "destination_country_iso3", "name": "recipient_name",
                     "phone": "recipient_phone"}  # fmt: skip
            return loose.get(rest[0], head)
        if head == "shipping_address" and rest[0] == "name" and "recipient_name" in body.sent:
            return "recipient_name"
        return f"{head}.{_ADDRESS_OUT.get(rest[0], rest[0])}"
    if head == "customer" and rest:
        return "customer_number" if rest[0] == "customer_ref" else "recipient_email"
    if head == "totals" and rest:
        return _TOTALS_OUT.get(rest[0], "order_total_amount")
    if head == "promised_delivery" and rest:
        return _ANNOUNCED_OUT.get(rest[0], "announced_delivery_date")
    if head == "metadata" and not rest:
        return "additional_attributes"
    if head == "metadata" and rest:
        return "order_status" if rest[0] == ORDER_STATUS_KEY else f"additional_attributes.{rest[0]}"
    if head == "tags" and rest:
        return f"tags.{rest[0]}"
    if head == "items" and len(rest) >= 2:
        return f"articles_order.{rest[0]}.{_ITEM_OUT.get(rest[1], rest[1])}"
    if head == "items" and rest:
        return f"articles_order.{rest[0]}"
    return _TOP_OUT.get(head, head)


def _value_at(doc: Any, pointer: str) -> Any:
    for part in pointer.split("/")[1:]:
        if isinstance(doc, dict):
            doc = doc.get(part)
        elif isinstance(doc, list) and part.isdigit() and int(part) < len(doc):
            doc = doc[int(part)]
        else:
            return None
    return doc


def _drf(error: FieldError, doc: dict[str, Any]) -> tuple[str, str]:
    """DRF's code and sentence for a canonical error."""
    if error.code == "required":
        return REQUIRED
    if error.code == "invalid_email":
        return EMAIL
    if error.code in (
        "invalid_country",
        "invalid_currency",
        "invalid_language",
        "invalid_timezone",
    ):
        return not_a_choice(_value_at(doc, error.pointer))
    if error.code == "too_long":
        limit = re.search(r"[0-9]+", error.detail)
        return too_long(int(limit[0])) if limit else ("max_length", error.detail)
    if error.code == "too_few_items":
        return EMPTY
    if error.code == "duplicate":
        return ("unique", "Line item ids must be unique within the order.")
    if error.code == "invalid_url":
        return ("invalid", "Enter a valid URL.")
    if error.code == "invalid_key":
        return ("invalid", "Attribute names are 1 to 64 characters of a-z, 0-9 and _.")
    return ("invalid", error.detail)


def validate(body: Body, doc: dict[str, Any], errors: Errors) -> Order | None:
    """The canonical order, or None with every remaining error added in parcelLab's terms
    (a field whose parcelLab rule already failed is not reported twice)."""
    already = {e["attr"] for e in errors.items}
    try:
        order = validate_order(doc)
    except ValidationFailed as exc:
        for error in exc.errors:
            attr = vendor_attr(error.pointer, body)
            if attr in already or any(attr.startswith(a + ".") for a in already if a):
                continue
            errors.add(attr, *_drf(error, doc))
        return None
    return None if errors else order
