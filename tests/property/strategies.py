"""Hypothesis strategies: canonical orders already in their normal form (so that what is sent
is exactly what is stored and read back), money per currency, and mutations of a JSON body."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import orjson
from hypothesis import strategies as st

# (currency, minor-unit digits); None: no currency, at most 4 decimals
CURRENCIES: list[tuple[str | None, int]] = [
    ("GBP", 2),
    ("EUR", 2),
    ("JPY", 0),
    ("KWD", 3),
    ("CLF", 4),
    (None, 4),
]
COUNTRIES = ["GB", "DE", "FR", "US", "CA", "JP", "KW", "NL", "SE", "BR"]
MONEY_LIMIT = 10**12


def money(digits: int, *, signed: bool = False) -> st.SearchStrategy[Decimal]:
    """An amount with exactly ``digits`` decimals, below 10^12 (the canonical limit)."""
    bound = MONEY_LIMIT * 10**digits - 1
    low = -bound if signed else 0
    return st.integers(low, bound).map(lambda minor: Decimal(minor).scaleb(-digits))


def money_text(amount: Decimal) -> str:
    return format(amount, "f")


# Text that every engine stores (PostgreSQL text refuses NUL; JSON cannot carry lone
# surrogates) and that validation keeps as it is.
_CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")


def text(min_size: int = 1, max_size: int = 40) -> st.SearchStrategy[str]:
    return st.text(_CHARS, min_size=min_size, max_size=max_size)


def _metadata() -> st.SearchStrategy[dict[str, Any]]:
    keys = st.from_regex(r"\A[a-z0-9_]{1,20}\Z")
    values = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**53), 2**53),
        text(0, 30),
    )
    return st.dictionaries(keys, values, max_size=5)


def _optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


@st.composite
def canonical_orders(draw: st.DrawFn) -> dict[str, Any]:
    """A valid canonical order in normal form: every field as the API returns it."""
    currency, digits = draw(st.sampled_from(CURRENCIES))
    n_items = draw(st.integers(1, 4))
    items = []
    for i in range(n_items):
        item_currency, item_digits = (
            (currency, digits)
            if currency is None or draw(st.booleans())
            else draw(st.sampled_from([c for c in CURRENCIES if c[0] is not None]))
        )
        price = draw(_optional(money(item_digits)))
        items.append(
            {
                "line_id": f"L{i}",
                "sku": draw(text(1, 30)),
                "gtin": draw(_optional(st.from_regex(r"\A([0-9]{8}|[0-9]{12,14})\Z"))),
                "name": draw(_optional(text())),
                "quantity": draw(st.integers(1, 1_000_000)),
                "unit_price": None if price is None else money_text(price),
                "currency": item_currency,
                "image_url": draw(_optional(st.just("https://example.com/p.png"))),
                "brand": draw(_optional(text())),
                "category": draw(_optional(text())),
                "supplier": draw(_optional(text())),
                "metadata": draw(_metadata()),
            }
        )
    totals = {
        name: None if amount is None else money_text(amount)
        for name in ("total", "subtotal", "shipping", "tax", "discount")
        for amount in [draw(_optional(money(digits, signed=name == "discount")))]
    }
    placed = draw(
        _optional(
            st.datetimes(
                min_value=dt.datetime(1970, 1, 1),
                max_value=dt.datetime(2024, 12, 31),
            )
        )
    )
    address = {
        "name": draw(_optional(text())),
        "company": draw(_optional(text())),
        "line1": draw(_optional(text())),
        "line2": None,
        "postal_code": draw(_optional(text(1, 10))),
        "city": draw(_optional(text())),
        "region": None,
        "country": draw(_optional(st.sampled_from(COUNTRIES))),
        "phone": draw(_optional(text(1, 20))),
        "email": draw(_optional(st.sampled_from(["a@example.com", "John.Brown@example.org"]))),
    }
    tags = draw(st.lists(text(1, 30), max_size=5, unique=True))
    return {
        "order_ref": "P-" + draw(text(1, 40)),
        "order_number": draw(_optional(text())),
        "source": draw(_optional(text())),
        "channel": draw(_optional(text())),
        "test": draw(st.booleans()),
        "placed_at": None if placed is None else placed.isoformat() + "Z",
        "fulfilled_at": None,
        "currency": currency,
        "language": draw(_optional(st.sampled_from(["en", "de", "fr", "ja"]))),
        "locale": draw(_optional(st.sampled_from(["en-GB", "de-DE", "fr-CA"]))),
        "timezone": draw(_optional(st.sampled_from(["Europe/London", "UTC", "Asia/Tokyo"]))),
        "customer": draw(
            _optional(
                st.fixed_dictionaries(
                    {
                        "email": _optional(st.just("john@example.com")),
                        "customer_ref": _optional(text()),
                        "title": _optional(text(1, 10)),
                        "first_name": _optional(text()),
                        "last_name": _optional(text()),
                        "phone": _optional(text(1, 20)),
                        "country": _optional(st.sampled_from(COUNTRIES)),
                    }
                )
            )
        ),
        "shipping_address": address,
        "billing_address": None,
        "from_address": None,
        "items": items,
        "totals": totals,
        "payment_method": draw(_optional(text())),
        "invoice_number": draw(_optional(text())),
        "delivery_method": draw(_optional(text())),
        "promised_delivery": draw(
            _optional(
                st.fixed_dictionaries(
                    {
                        "date": _optional(
                            st.dates(dt.date(2000, 1, 1), dt.date(2100, 1, 1)).map(str)
                        ),
                        "earliest": st.none(),
                        "latest": st.none(),
                    }
                )
            )
        ),
        "message": draw(
            _optional(st.fixed_dictionaries({"type": _optional(text()), "text": _optional(text())}))
        ),
        "tags": tags,
        "metadata": draw(_metadata()),
    }


# --- mutations -------------------------------------------------------------------------------

_ODD_NUMBERS = [
    b"1e400",
    b"-1E-400",
    b"123456789012345678901234567890",
    b"-0",
    b"0.1",
    b"1.0",
    b"-5",
    b"2E+5",
    b"NaN",
    b"Infinity",
    b"1e-7",
]


def _json_values() -> st.SearchStrategy[Any]:
    """Any JSON value, with odd numbers (huge, tiny, NaN) kept exactly as raw JSON."""
    leaves = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**63), 2**63 - 1),  # bigger ones are raw JSON below
        st.sampled_from(_ODD_NUMBERS).map(orjson.Fragment),
        st.text(st.characters(blacklist_categories=("Cs",)), max_size=300),
        st.sampled_from(["", " ", "\x00", "GB", "GBR", "2024-02-30", "10-12-2014", "55,99"]),
    )
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=10), inner, max_size=3)
        ),
        max_leaves=6,
    )


def _paths(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [at]
    if isinstance(value, dict):
        for k, v in value.items():
            found += _paths(v, (*at, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += _paths(v, (*at, i))
    return found


@st.composite
def mutated(draw: st.DrawFn, body: Any, *, mutations: int = 3) -> Any:
    """``body`` with a few random changes: a value replaced, a member removed or added."""
    for _ in range(draw(st.integers(1, mutations))):
        path = draw(st.sampled_from(_paths(body)))
        action = draw(st.sampled_from(["replace", "remove", "add"]))
        value = draw(_json_values())
        if not path:
            if action == "replace":
                body = value
            continue
        parent = body
        for part in path[:-1]:
            parent = parent[part]
        last = path[-1]
        if action == "replace":
            parent[last] = value
        elif action == "remove":
            del parent[last]
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=12))] = value
        else:
            parent.append(value)
    return body


def dumps(body: Any) -> bytes:
    return orjson.dumps(body)
