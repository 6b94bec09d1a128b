"""``validate_order_json``, the import's way of reading a line: straight from the JSON text
when it holds a valid order, otherwise None, for ``validate_order(parse_json(text))`` to read.

Wherever it answers, it must answer what the careful path answers: the same order, to the
byte of its stored document. Random valid orders, random mutations of them (odd numbers,
NUL, nested values) and numbers that only the careful path reads exactly are all compared.
"""

from __future__ import annotations

import copy
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from ordergate.errors import OrdergateError, ValidationFailed
from ordergate.orders.model import Order, document_json, validate_order, validate_order_json
from ordergate.web import parse_json
from tests import factories
from tests.property.strategies import canonical_orders, mutated

SETTINGS = settings(max_examples=150, deadline=None, derandomize=True, database=None)


def _careful(text: bytes) -> Order | list[tuple[str, str]]:
    """What the careful path makes of ``text``: the order, or its errors."""
    try:
        return validate_order(parse_json(text))
    except ValidationFailed as exc:
        return [(e.pointer, e.code) for e in exc.errors]
    except OrdergateError as exc:  # not JSON at all
        return [("", exc.code)]


def _agrees(text: bytes) -> Order | None:
    """validate_order_json's answer, checked against the careful path's."""
    fast = validate_order_json(text)
    if fast is not None:
        careful = _careful(text)
        assert isinstance(careful, Order), careful
        assert document_json(fast) == document_json(careful)
    return fast


@SETTINGS
@given(order=canonical_orders())
def test_a_valid_order_is_read_straight_from_its_text(order: dict[str, Any]) -> None:
    assert _agrees(orjson.dumps(order)) is not None


@SETTINGS
@given(data=st.data(), order=canonical_orders())
def test_a_mutated_order_is_read_as_the_careful_path_reads_it_or_left_to_it(
    data: st.DataObject, order: dict[str, Any]
) -> None:
    body = data.draw(mutated(copy.deepcopy(order)))
    text = orjson.dumps(body)
    fast = _agrees(text)
    if fast is None:
        # None is only for what the careful path refuses or reads differently
        careful = _careful(text)
        assert not isinstance(careful, Order) or _has_fraction_or_exponent(text), careful


def _has_fraction_or_exponent(text: bytes) -> bool:
    return any(b in text for b in (b".", b"e", b"E", b"NaN", b"Infinity"))


# Numbers as raw JSON: some a double holds exactly, some it doesn't.
NUMBERS = [
    "0.1",
    "0.10000000000000000001",
    "1.5",
    "1.0",
    "-0.0",
    "1e2",
    "2.5E+15",
    "1.5E-10",
    "9007199254740993.0",
    "12345678901234567890.5",
    "1e400",
    "NaN",
]


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(
    order=canonical_orders(),
    where=st.sampled_from(["metadata", "item_metadata", "price"]),
    number=st.sampled_from(NUMBERS),
)
def test_numbers_with_a_fraction_or_an_exponent_are_left_to_the_careful_path(
    order: dict[str, Any], where: str, number: str
) -> None:
    value = orjson.Fragment(number)
    if where == "metadata":
        order["metadata"]["n"] = value
    elif where == "item_metadata":
        order["items"][0]["metadata"]["n"] = value
    else:
        order["items"][0]["unit_price"] = value
    text = orjson.dumps(order)
    assert validate_order_json(text) is None
    careful = _careful(text)  # which reads them exactly: accepted or refused as they are
    if number == "0.10000000000000000001" and where != "price":
        assert careful == [(_pointer(where), "imprecise_number")]


def _pointer(where: str) -> str:
    return "/metadata/n" if where == "metadata" else "/items/0/metadata/n"


def test_integers_are_read_straight_from_the_text() -> None:
    order = factories.full_order()
    order["metadata"] = {"count": 3, "big": 2**53, "zero": 0}
    order["items"][0]["unit_price"] = 12
    text = orjson.dumps(order)
    fast = _agrees(text)
    assert fast is not None
    assert fast.metadata == {"count": 3, "big": 2**53, "zero": 0}


def test_an_escaped_nul_is_left_to_the_careful_path() -> None:
    text = orjson.dumps({**factories.full_order(), "source": "a\x00b"})
    assert validate_order_json(text) is None
    assert _careful(text) == [("/source", "invalid_character")]


def test_a_repeated_member_is_read_as_the_careful_path_reads_it() -> None:
    text = orjson.dumps(factories.full_order(ref="FIRST"))
    text = text[:-1] + b',"order_ref":"LAST"}'
    fast = _agrees(text)
    assert fast is not None
    assert fast.order_ref == "LAST"


def test_an_order_breaking_a_rule_is_left_to_the_careful_path() -> None:
    order = factories.full_order()
    order["items"][0]["currency"] = "JPY"
    order["items"][0]["unit_price"] = "10.5"  # JPY has no minor unit
    text = orjson.dumps(order)
    assert validate_order_json(text) is None
    assert ("/items/0/unit_price", "too_many_decimals") in _careful(text)


def test_text_that_is_not_an_order_is_left_to_the_careful_path() -> None:
    lone_surrogate = orjson.dumps(factories.full_order()).replace(
        b'"Example Shop"', b'"Ex\\ud800ample"'
    )
    assert b"\\ud800" in lone_surrogate
    for text in (b"[]", b'"x"', b"{", b"\xff\xfe", lone_surrogate):
        assert validate_order_json(text) is None
        assert not isinstance(_careful(text), Order)


def test_escaped_surrogate_pairs_are_read_as_the_careful_path_reads_them() -> None:
    text = orjson.dumps(factories.full_order()).replace(
        b'"Example Shop"', b'"Ex\\ud83d\\ude00ample"'
    )
    fast = _agrees(text)
    assert fast is not None
    assert fast.source == "Ex\U0001f600ample"
