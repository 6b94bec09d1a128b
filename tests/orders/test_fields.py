"""The shortcuts of the field types: for what each takes, exactly what the careful way returns.

- The email shortcut: exactly what email-validator returns.
- The JSON-text shortcuts (``fields.JsonShortcut``), which pydantic-core checks on its own when
  an order is read straight from its text (``model.validate_order_json``): a value read from
  JSON text is the value the type's validators make of the same JSON parsed the careful way
  (``web.parse_json``: exact decimals), or an error.
"""

from __future__ import annotations

import random
import string
from decimal import Decimal
from typing import Any

import orjson
import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ConfigDict, TypeAdapter, ValidationError

from ordergate.errors import OrdergateError
from ordergate.orders import fields
from ordergate.web import parse_json


def _library(value: str) -> str | None:
    try:
        return str(validate_email(value, check_deliverability=False).normalized)
    except EmailNotValidError:
        return None


def _addresses(n: int) -> list[str]:
    rng = random.Random(20261123)
    local_chars = string.ascii_letters + string.digits + "._%+-!#'~"
    host_chars = string.ascii_letters + string.digits + "-"
    out = []
    for _ in range(n):
        local = "".join(rng.choice(local_chars) for _ in range(rng.randint(1, 70)))
        labels = [
            "".join(rng.choice(host_chars) for _ in range(rng.randint(1, 70)))
            for _ in range(rng.randint(1, 4))
        ]
        tld = rng.choice(["com", "de", "CO", "museum", "test", "local", "x", "1a", "onion", "Org"])
        out.append(f"{local}@{'.'.join([*labels, tld])}")
    return out


EDGES = [
    "John.Doe@Example.COM",
    "a@b.co",
    "x@xn--bcher-kva.de",
    "x@ab--cd.de",
    "a..b@example.com",
    ".a@example.com",
    "a.@example.com",
    "a@-example.com",
    "a@example-.com",
    "a@example.test",
    "a@localhost",
    "a" * 64 + "@example.com",
    "a" * 65 + "@example.com",
    "a@" + "b" * 63 + ".com",
    "a@" + "b" * 64 + ".com",
    "a@" + ".".join(["b" * 60] * 4) + ".com",
    "user+tag@sub.domain.example.org",
]


@pytest.mark.parametrize("address", EDGES + _addresses(3000))
def test_the_shortcut_agrees_with_email_validator(address: str) -> None:
    plain = fields._plain_email(address)
    if plain is not None:
        assert plain == _library(address), address


def test_the_shortcut_takes_the_common_addresses() -> None:
    taken = [a for a in EDGES if fields._plain_email(a) is not None]
    assert "John.Doe@Example.COM" in taken
    assert "user+tag@sub.domain.example.org" in taken
    assert fields.normalise_email("John.Doe@Example.COM") == "John.Doe@example.com"


# --- the JSON-text shortcuts ---------------------------------------------------------------------

STRICT = ConfigDict(strict=True)
TYPES: dict[str, Any] = {
    "country": fields.CountryCode,
    "language": fields.LanguageCode,
    "currency": fields.CurrencyCode,
    "timezone": fields.Timezone,
    "gtin": fields.Gtin,
    "url": fields.Url,
    "money": fields.Money,
    "positive_money": fields.PositiveMoney,
    "metadata_value": fields.MetadataValue,
}
ADAPTERS = {name: TypeAdapter(t, config=STRICT) for name, t in TYPES.items()}


def _careful(name: str, text: bytes) -> Any:
    try:
        return ("ok", ADAPTERS[name].validate_python(parse_json(text)))
    except (ValidationError, OrdergateError):
        return ("error", None)


def _from_text(name: str, text: bytes) -> Any:
    try:
        return ("ok", ADAPTERS[name].validate_json(text))
    except ValidationError:
        return ("error", None)


def _same(a: Any, b: Any) -> bool:
    """Equal, of the same type, and for decimals with the same digits and exponent."""
    if type(a) is not type(b):
        return False
    if isinstance(a, Decimal):
        return a.as_tuple() == b.as_tuple()
    return bool(a == b)


def _check(name: str, value: Any) -> Any:
    """``value`` (JSON text, or a value to dump) read from its text agrees with the careful
    way wherever the text is read; returns what the text gave."""
    text = value if isinstance(value, bytes) else orjson.dumps(value)
    if b"\\u0000" in text:  # validate_order_json leaves NUL to parse_json, which refuses it
        return ("error", None)
    fast = _from_text(name, text)
    if fast[0] == "ok":
        careful = _careful(name, text)
        assert careful[0] == "ok", (name, text)
        assert _same(fast[1], careful[1]), (name, text, fast[1], careful[1])
    return fast


@pytest.mark.parametrize(
    ("name", "schema"),
    [
        ("country", fields._COUNTRIES),
        ("language", fields._LANGUAGES),
        ("currency", fields._CURRENCIES),
        ("timezone", fields._TIMEZONES),
    ],
)
def test_every_code_a_shortcut_takes_is_a_code_in_its_normal_form(name: str, schema: Any) -> None:
    codes = schema["expected"]
    assert len(codes) > 100
    for code in codes:
        assert _check(name, code) == ("ok", code)


JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),  # bigger ones as raw JSON below
    st.sampled_from(
        ["0", "0.5", "1.0", "-0", "-0.0", "1e2", "1E-7", "0.10000000000000000001", "9" * 25]
    ).map(orjson.Fragment),
    st.text(max_size=12),
    st.from_regex(r"\A-?[0-9]{1,14}(\.[0-9]{0,6})?\Z"),  # amounts, some out of range
    st.from_regex(r"\A[0-9]{7,15}\s?\Z"),  # GTINs and near misses
    st.from_regex(r"\A(?i:https?)://[^/]{0,3}\S{0,8}\s?\Z"),  # URLs and near misses
    st.sampled_from(["GB", "gb", "GBR", "DEU", "UK", "EUR", "eur", "XAU", "Europe/London"]),
    st.sampled_from(["en", "EN", "de", "xx", "UTC", "utc", "0001234567890", "12.3400"]),
)


@settings(max_examples=400, deadline=None, derandomize=True, database=None)
@given(name=st.sampled_from(sorted(TYPES)), value=JSON_LEAVES)
def test_a_value_read_from_json_text_is_what_the_careful_way_reads(name: str, value: Any) -> None:
    _check(name, value)


def test_the_url_shortcut_knows_pythons_whitespace() -> None:
    # Rust's \s and Python's differ; every character is tried inside and at the end of a URL.
    chars = (chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    for c in chars:
        _check("url", f"http://a{c}b")
        _check("url", f"https://example.com/p{c}")


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("money", "12.34", Decimal("12.34")),
        ("money", "12.3400", Decimal("12.3400")),
        ("money", "000123", Decimal("123")),
        ("money", "-0", Decimal("0")),  # not taken by the shortcut: the careful way makes it 0
        ("positive_money", "999999999999.9999", Decimal("999999999999.9999")),
        ("money", 7, Decimal(7)),
        ("country", "DEU", "DE"),
        ("currency", "eur", "EUR"),
        ("metadata_value", 2**53, 2**53),
        ("metadata_value", "x" * 1000, "x" * 1000),
    ],
)
def test_values_read_from_json_text(name: str, value: Any, expected: Any) -> None:
    result = _check(name, value)
    assert result[0] == "ok"
    assert _same(result[1], expected)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("money", orjson.Fragment("12.5")),  # a double: left to the careful way
        ("money", "1000000000000"),
        ("money", "1.23456"),
        ("positive_money", "-1"),
        ("metadata_value", orjson.Fragment("1.5")),
        ("metadata_value", 2**53 + 1),
        ("metadata_value", "x" * 1001),
        ("gtin", "12345678\n"),  # Python's $ takes a final newline; the text reading doesn't
        ("url", "http://a\n"),
    ],
)
def test_values_refused_when_read_from_json_text(name: str, value: Any) -> None:
    assert _check(name, value) == ("error", None)
