"""The canonical order: what a client sends (``Order``), what it reads back (``OrderOut``),
and :func:`validate_order`, which reports every invalid field with a JSON pointer and a code.

Every front door (the /v1 API and each dialect) ends by building an ``Order``; nothing below
this module knows any vendor's field names.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ordergate.errors import FieldError, ValidationFailed
from ordergate.orders import rules
from ordergate.orders.fields import (
    CountryCode,
    CurrencyCode,
    Date,
    Email,
    Gtin,
    LanguageCode,
    Locale,
    Metadata,
    Money,
    NonEmpty64,
    NonEmpty255,
    PositiveMoney,
    Str32,
    Str64,
    Str255,
    Str1000,
    Str2000,
    Timestamp,
    Timezone,
    Url,
    currency_exponent,
    minor_unit,
)

M = TypeVar("M", bound=BaseModel)

MAX_ITEMS = 1000
MAX_TAGS = 100


class _Schema(BaseModel):
    # strict: "2" is not a quantity and "true" is not a boolean; unknown fields are errors,
    # so a typo never silently drops data.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=False)


class Customer(_Schema):
    email: Email | None = None
    customer_ref: Str255 | None = None
    title: Str64 | None = None
    first_name: Str255 | None = None
    last_name: Str255 | None = None
    phone: Str64 | None = None
    country: CountryCode | None = None


class Address(_Schema):
    name: Str255 | None = None
    company: Str255 | None = None
    line1: Str255 | None = None
    line2: Str255 | None = None
    postal_code: Str32 | None = None
    city: Str255 | None = None
    region: Str255 | None = None
    country: CountryCode | None = None
    phone: Str64 | None = None
    email: Email | None = None


class Item(_Schema):
    line_id: NonEmpty64 | None = Field(
        default=None, description="Unique within the order; defaults to the 1-based position"
    )
    sku: NonEmpty255
    gtin: Gtin | None = None
    name: Str1000 | None = None
    quantity: int = Field(default=1, ge=1, le=1_000_000)
    unit_price: PositiveMoney | None = None
    currency: CurrencyCode | None = Field(
        default=None, description="Defaults to the order's currency"
    )
    image_url: Url | None = None
    brand: Str255 | None = None
    category: Str255 | None = None
    supplier: Str255 | None = None
    metadata: Metadata = Field(default_factory=dict)


class Totals(_Schema):
    total: Money | None = None
    subtotal: Money | None = None
    shipping: Money | None = None
    tax: Money | None = None
    discount: Money | None = None


class PromisedDelivery(_Schema):
    date: Date | None = None
    earliest: Date | None = None
    latest: Date | None = None


class Message(_Schema):
    type: Str64 | None = None
    text: Str2000 | None = None


class Order(_Schema):
    """An order as a client submits it (and as it is stored, normalised)."""

    order_ref: NonEmpty255 = Field(description="Your reference; unique per organisation")
    order_number: Str255 | None = None
    source: Str255 | None = None
    channel: Str255 | None = None
    test: bool = False
    placed_at: Timestamp | None = None
    fulfilled_at: Timestamp | None = Field(
        default=None, description="When set on create, the order is recorded as fulfilled"
    )
    currency: CurrencyCode | None = None
    language: LanguageCode | None = None
    locale: Locale | None = None
    timezone: Timezone | None = None
    customer: Customer | None = None
    shipping_address: Address | None = None
    billing_address: Address | None = None
    from_address: Address | None = None
    items: list[Item] = Field(min_length=1, max_length=MAX_ITEMS)
    totals: Totals | None = None
    payment_method: Str255 | None = None
    invoice_number: Str255 | None = None
    delivery_method: Str255 | None = None
    promised_delivery: PromisedDelivery | None = None
    message: Message | None = None
    tags: list[NonEmpty255] = Field(default_factory=list, max_length=MAX_TAGS)
    metadata: Metadata = Field(default_factory=dict)


ORDER_FIELDS = frozenset(Order.model_fields)

# Fields a PATCH may change. The rest identify the order (order_ref) or decide what is owed and
# what has been fulfilled (items, currency, totals, dates), and change only through a full
# replacement (PUT) or the lifecycle routes.
PATCHABLE_FIELDS = frozenset(
    {
        "order_number",
        "source",
        "channel",
        "language",
        "locale",
        "timezone",
        "customer",
        "shipping_address",
        "billing_address",
        "from_address",
        "payment_method",
        "invoice_number",
        "delivery_method",
        "promised_delivery",
        "message",
        "tags",
        "metadata",
    }
)

Status = Literal["unfulfilled", "partially_fulfilled", "fulfilled", "cancelled"]


class Tracking(BaseModel):
    carrier: str | None = None
    number: str | None = None
    url: str | None = None


class FulfilledLine(BaseModel):
    line_id: str
    quantity: int


class Fulfillment(BaseModel):
    id: str
    items: list[FulfilledLine]
    tracking: Tracking | None = None
    created_at: str


class Cancellation(BaseModel):
    reason: str
    note: str | None = None
    cancelled_at: str


class OrderOut(Order):
    """An order as ordergate returns it: the submitted fields plus what the server keeps."""

    model_config = ConfigDict(extra="allow")

    id: str = Field(description="UUIDv7")
    number: int = Field(description="Per-organisation sequence, from 1")
    status: Status
    cancellation: Cancellation | None
    fulfillments: list[Fulfillment]
    created_at: str
    updated_at: str
    version: int
    submitted_via: str


# --- validation ---------------------------------------------------------------------------------

# pydantic's error types → ordergate's stable codes (docs/errors.md). Custom field types raise
# ordergate codes directly and pass through unchanged.
_CODES = {
    "missing": "required",
    "extra_forbidden": "unknown_field",
    "string_too_short": "too_short",
    "string_too_long": "too_long",
    "too_short": "too_few_items",
    "too_long": "too_many_items",
    "string_type": "invalid_type",
    "int_type": "invalid_type",
    "bool_type": "invalid_type",
    "dict_type": "invalid_type",
    "list_type": "invalid_type",
    "model_type": "invalid_type",
    "model_attributes_type": "invalid_type",
    "int_parsing": "invalid_type",
    "int_from_float": "invalid_type",
    "greater_than_equal": "too_small",
    "less_than_equal": "too_large",
    "datetime_parsing": "invalid_datetime",
    "datetime_from_date_parsing": "invalid_datetime",
    "datetime_type": "invalid_datetime",
    "date_parsing": "invalid_date",
    "date_from_datetime_parsing": "invalid_date",
    "date_from_datetime_inexact": "invalid_date",
    "date_type": "invalid_date",
    "value_error": "invalid",
    "literal_error": "invalid",
    "enum": "invalid",
    "string_pattern_mismatch": "invalid_format",
}


def pointer(loc: tuple[int | str, ...] | list[int | str]) -> str:
    """RFC 6901 JSON pointer of a location."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in loc)


def field_errors(exc: ValidationError, prefix: tuple[int | str, ...] = ()) -> list[FieldError]:
    out = []
    for e in exc.errors(include_url=False, include_input=False):
        loc = tuple(e["loc"])
        code = _CODES.get(e["type"], e["type"])
        if loc and loc[-1] == "[key]":  # an invalid key of a mapping: point at the key
            loc = loc[:-1]
            code = "invalid_key"
        out.append(FieldError(pointer(prefix + loc), code, e["msg"]))
    return out


def validate_as(model: type[M], data: Any) -> M:
    """``model.model_validate(data)``, with pydantic's errors as one :class:`ValidationFailed`
    (pointers and stable codes), for the small request bodies beside the order itself."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(field_errors(exc)) from None


def validate_order(data: Any, *, now: dt.datetime | None = None) -> Order:
    """Validate and normalise an order; raise :class:`ValidationFailed` listing every error.

    Field errors and cross-field errors are reported together: when some fields are invalid,
    the cross-field rules still run on what can be read of the rest.
    """
    try:
        order = Order.model_validate(data)
    except ValidationError as exc:
        errors = field_errors(exc)
        reported = {e.pointer for e in errors}
        extra = rules.check(rules.raw_facts(data), now)
        raise ValidationFailed(errors + [e for e in extra if e.pointer not in reported]) from None
    errors = rules.check(rules.facts_of(order), now)
    if errors:
        raise ValidationFailed(errors)
    normalise(order)
    return order


def validate_order_json(text: bytes) -> Order | None:
    """``validate_order(parse_json(text))`` for a JSON text holding a valid order, validated
    straight from the text (no Python objects made for the JSON in between: about an eighth
    less work per order); None for any other text, which the caller then reads the careful
    way, for its errors or for what this path cannot read exactly.

    The two paths agree wherever this one answers (tests/orders/test_json_path.py): the text
    reaches the same validators as the same strings, booleans and integers; what pydantic-core
    would read differently is refused here and read by the careful path instead: numbers with
    a fraction or an exponent (doubles here, exact decimals there; money and metadata refuse
    doubles) and escaped NUL characters (refused with their own errors by ``parse_json``)."""
    if b"\\u0000" in text:
        return None
    try:
        order = Order.model_validate_json(text)
    except ValidationError:
        return None
    if rules.check(rules.facts_of(order), None):
        return None
    normalise(order)
    return order


def _at_minor_unit(amount: Decimal, currency: str | None) -> Decimal:
    """``amount`` written with its currency's minor unit of decimals (the same object when it
    already is, or the currency is unknown)."""
    digits = currency_exponent(currency) if currency else None
    if digits is None:
        return amount
    quantum = minor_unit(digits)
    return amount if amount.same_quantum(quantum) else amount.quantize(quantum)


def normalise(order: Order) -> None:
    """Fill defaults and write amounts at their currency's minor unit (after the rules hold).
    A field is assigned only when its value changes: assignment to a model is the costly part."""
    for i, item in enumerate(order.items):
        if item.line_id is None:
            item.line_id = str(i + 1)
        if item.currency is None:
            item.currency = order.currency
        if item.unit_price is not None:
            price = _at_minor_unit(item.unit_price, item.currency)
            if price is not item.unit_price:
                item.unit_price = price
    totals = order.totals
    if totals is not None:
        for name in rules.TOTALS:
            value = getattr(totals, name)
            if value is not None and (at := _at_minor_unit(value, order.currency)) is not value:
                setattr(totals, name, at)
    # Tags are a set: a repeated tag is kept once, in first-seen order.
    if len(set(order.tags)) != len(order.tags):
        order.tags = list(dict.fromkeys(order.tags))


def to_document(order: Order) -> dict[str, Any]:
    """The normalised JSON document that is stored and returned (money as decimal strings)."""
    return order.model_dump(mode="json")


def document_json(order: Order) -> str:
    """``orjson.dumps(to_document(order))``, serialised straight from the model without the
    dictionary in between (the same text: tests/orders/test_model.py checks it)."""
    return order.model_dump_json()
