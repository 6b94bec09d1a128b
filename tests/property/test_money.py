"""Money round-trips exactly: any amount a currency allows, sent as a decimal string or as a
JSON number (with extra zeros or not), is validated, stored as text and read back as the same
decimal, written at the currency's minor unit. No binary float on the way."""

from __future__ import annotations

from decimal import Decimal

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ordergate.errors import ValidationFailed
from ordergate.orders.model import to_document, validate_order
from ordergate.web import parse_json
from tests.property.strategies import CURRENCIES, money, money_text

SETTINGS = settings(max_examples=150, deadline=None, derandomize=True, database=None)


def _order_json(currency: str | None, price: bytes, total: bytes) -> bytes:
    body = {
        "order_ref": "M-1",
        "currency": currency,
        "items": [{"sku": "S", "unit_price": orjson.Fragment(price)}],
        "totals": {"total": orjson.Fragment(total), "discount": orjson.Fragment(b'"-0"')},
    }
    return orjson.dumps(body)


@SETTINGS
@given(
    data=st.data(),
    currency=st.sampled_from(CURRENCIES),
    as_number=st.booleans(),
    extra_zeros=st.integers(0, 3),
)
def test_any_allowed_amount_round_trips_exactly(
    data: st.DataObject, currency: tuple[str | None, int], as_number: bool, extra_zeros: int
) -> None:
    code, digits = currency
    amount = data.draw(money(digits))
    total = data.draw(money(digits, signed=True))
    # "5.5000" is the same amount as "5.50": accepted, and written at the minor unit
    sent = money_text(amount)
    if extra_zeros:
        sent += ("." if digits == 0 else "") + "0" * extra_zeros
    raw = sent.encode() if as_number else orjson.dumps(sent)
    doc = to_document(validate_order(parse_json(_order_json(code, raw, orjson.dumps(str(total))))))

    item = doc["items"][0]
    expected = money_text(amount) if code is not None else sent
    assert item["unit_price"] == expected
    assert Decimal(item["unit_price"]) == amount
    assert doc["totals"]["total"] == money_text(total)
    assert doc["totals"]["discount"] == (
        "0" if code is None else money_text(Decimal(0).scaleb(-digits))
    )
    # the document is stable: validating it again changes nothing
    assert to_document(validate_order(parse_json(orjson.dumps(doc)))) == doc


@SETTINGS
@given(currency=st.sampled_from([c for c in CURRENCIES if c[0] is not None]), data=st.data())
def test_an_amount_finer_than_the_minor_unit_is_refused_not_rounded(
    currency: tuple[str, int], data: st.DataObject
) -> None:
    code, digits = currency
    amount = data.draw(
        money(digits + 1).filter(lambda a: a != a.quantize(Decimal(1).scaleb(-digits)))
    )
    body = _order_json(code, money_text(amount).encode(), b'"1"')
    with pytest.raises(ValidationFailed) as refused:
        validate_order(parse_json(body))
    assert [(e.pointer, e.code) for e in refused.value.errors] == [
        ("/items/0/unit_price", "too_many_decimals")
    ]
