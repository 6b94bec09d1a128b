"""The canonical order (SPEC §2): validation with exact pointers and codes, and normalisation.

Inputs are built the way the HTTP layer builds them: JSON bytes through ``web.parse_json``
(numbers become ``Decimal``) or dicts of strings, ints and Decimals.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import orjson
import pytest

from ordergate.errors import ValidationFailed
from ordergate.orders.model import document_json, to_document, validate_order
from ordergate.web import parse_json
from tests import factories

NOW = dt.datetime(2020, 1, 1, 12, 0, tzinfo=dt.UTC)

ADDRESS_FIELDS = ["shipping_address", "billing_address", "from_address"]
COUNTRY_POINTERS = [("customer", "/customer/country")] + [
    (name, f"/{name}/country") for name in ADDRESS_FIELDS
]


# --- helpers ------------------------------------------------------------------------------------


def _item(*, sku: str = "PROD1", **fields: Any) -> dict[str, Any]:
    return {"sku": sku, **fields}


def _order(*, items: list[dict[str, Any]] | None = None, **fields: Any) -> dict[str, Any]:
    """The smallest valid order, plus ``fields``."""
    return {"order_ref": "ABC123", "items": items if items is not None else [_item()], **fields}


def _errors(data: Any, *, now: dt.datetime = NOW) -> list[tuple[str, str]]:
    """(pointer, code) of every field error that validating ``data`` reports."""
    with pytest.raises(ValidationFailed) as caught:
        validate_order(data, now=now)
    return [(e.pointer, e.code) for e in caught.value.errors]


def _doc(data: Any, *, now: dt.datetime = NOW) -> dict[str, Any]:
    return to_document(validate_order(data, now=now))


def _price(unit_price: Any, *, currency: str | None = None) -> dict[str, Any]:
    """An order whose single item has ``unit_price`` (and the order ``currency``)."""
    fields = {} if currency is None else {"currency": currency}
    return _order(items=[_item(unit_price=unit_price)], **fields)


def _spec_example() -> dict[str, Any]:
    """The canonical example order of SPEC §2."""
    return factories.full_order(ref="ABC123")


# --- the error itself -----------------------------------------------------------------------------


def test_validation_failure_is_a_422_with_a_sentence_per_field_error() -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate_order(_order(order_ref=""), now=NOW)
    assert caught.value.status == 422
    assert caught.value.code == "validation_failed"
    [error] = caught.value.errors
    assert error.detail.strip()


def test_a_body_that_is_not_an_object_is_invalid_type_at_the_root() -> None:
    assert _errors(parse_json(b"[1, 2]")) == [("", "invalid_type")]


def test_a_minimal_order_is_valid() -> None:
    doc = _doc(_order())
    assert doc["order_ref"] == "ABC123"
    assert doc["items"][0]["sku"] == "PROD1"


# --- order_ref ------------------------------------------------------------------------------------


def test_missing_order_ref_is_required_at_its_pointer() -> None:
    data = _order()
    del data["order_ref"]
    assert _errors(data) == [("/order_ref", "required")]


def test_empty_order_ref_is_too_short() -> None:
    assert _errors(_order(order_ref="")) == [("/order_ref", "too_short")]


def test_order_ref_of_256_chars_is_too_long() -> None:
    assert _errors(_order(order_ref="x" * 256)) == [("/order_ref", "too_long")]


def test_order_ref_of_255_chars_is_accepted() -> None:
    assert _doc(_order(order_ref="x" * 255))["order_ref"] == "x" * 255


def test_numeric_order_ref_is_invalid_type() -> None:
    assert _errors(parse_json(b'{"order_ref": 123, "items": [{"sku": "A"}]}')) == [
        ("/order_ref", "invalid_type")
    ]


# --- items ----------------------------------------------------------------------------------------


def test_missing_items_is_required() -> None:
    assert _errors({"order_ref": "ABC123"}) == [("/items", "required")]


def test_empty_items_list_is_too_few_items() -> None:
    assert _errors(_order(items=[])) == [("/items", "too_few_items")]


def test_more_than_1000_items_is_too_many_items() -> None:
    items = [_item(sku=f"S{i}") for i in range(1001)]
    assert _errors(_order(items=items)) == [("/items", "too_many_items")]


def test_exactly_1000_items_are_accepted() -> None:
    items = [_item(sku=f"S{i}") for i in range(1000)]
    assert len(_doc(_order(items=items))["items"]) == 1000


def test_items_that_are_not_a_list_are_invalid_type() -> None:
    data = {"order_ref": "ABC123", "items": {"sku": "A"}}
    assert _errors(data) == [("/items", "invalid_type")]


def test_missing_sku_is_required_at_the_items_pointer() -> None:
    assert _errors(_order(items=[_item(), {"quantity": 1}])) == [("/items/1/sku", "required")]


def test_empty_sku_is_too_short() -> None:
    assert _errors(_order(items=[_item(sku="")])) == [("/items/0/sku", "too_short")]


# --- quantity -------------------------------------------------------------------------------------


def test_quantity_defaults_to_one() -> None:
    assert _doc(_order())["items"][0]["quantity"] == 1


def test_integer_quantity_from_json_is_kept() -> None:
    data = parse_json(b'{"order_ref": "R", "items": [{"sku": "A", "quantity": 2}]}')
    assert _doc(data)["items"][0]["quantity"] == 2


def test_quantity_below_one_is_too_small_at_its_pointer() -> None:
    assert _errors(_order(items=[_item(quantity=0)])) == [("/items/0/quantity", "too_small")]


def test_negative_quantity_is_too_small() -> None:
    assert _errors(_order(items=[_item(quantity=-3)])) == [("/items/0/quantity", "too_small")]


def test_quantity_as_a_string_is_invalid_type() -> None:
    assert _errors(_order(items=[_item(quantity="2")])) == [("/items/0/quantity", "invalid_type")]


def test_quantity_as_a_json_decimal_number_is_invalid_type() -> None:
    data = parse_json(b'{"order_ref": "R", "items": [{"sku": "A", "quantity": 2.0}]}')
    assert data["items"][0]["quantity"] == Decimal("2.0")
    assert _errors(data) == [("/items/0/quantity", "invalid_type")]


def test_quantity_as_a_boolean_is_invalid_type() -> None:
    data = parse_json(b'{"order_ref": "R", "items": [{"sku": "A", "quantity": true}]}')
    assert _errors(data) == [("/items/0/quantity", "invalid_type")]


# --- line_id --------------------------------------------------------------------------------------


def test_line_id_defaults_to_the_one_based_position() -> None:
    doc = _doc(_order(items=[_item(sku="A"), _item(sku="B"), _item(sku="C")]))
    assert [item["line_id"] for item in doc["items"]] == ["1", "2", "3"]


def test_given_line_id_is_kept() -> None:
    doc = _doc(_order(items=[_item(line_id="L-9"), _item(sku="B")]))
    assert [item["line_id"] for item in doc["items"]] == ["L-9", "2"]


def test_duplicate_line_id_is_reported_at_the_later_item() -> None:
    items = [_item(line_id="A"), _item(line_id="B"), _item(line_id="A")]
    assert _errors(_order(items=items)) == [("/items/2/line_id", "duplicate")]


def test_given_line_id_colliding_with_a_default_position_is_duplicate() -> None:
    items = [_item(line_id="2"), _item(sku="B")]  # the second defaults to "2"
    assert _errors(_order(items=items)) == [("/items/1/line_id", "duplicate")]


def test_empty_line_id_is_too_short() -> None:
    assert _errors(_order(items=[_item(line_id="")])) == [("/items/0/line_id", "too_short")]


# --- unknown fields -------------------------------------------------------------------------------


def test_unknown_top_level_field_is_rejected() -> None:
    assert _errors(_order(ordr_ref="typo")) == [("/ordr_ref", "unknown_field")]


def test_unknown_customer_field_is_rejected_at_its_nested_pointer() -> None:
    assert _errors(_order(customer={"foo": "x"})) == [("/customer/foo", "unknown_field")]


def test_unknown_item_field_is_rejected_at_its_nested_pointer() -> None:
    items = [_item(), _item(sku="B", bar=1)]
    assert _errors(_order(items=items)) == [("/items/1/bar", "unknown_field")]


@pytest.mark.parametrize(
    ("field", "value", "pointer"),
    [
        ("shipping_address", {"zip": "1"}, "/shipping_address/zip"),
        ("totals", {"grand_total": "1"}, "/totals/grand_total"),
        ("promised_delivery", {"when": "2014-12-20"}, "/promised_delivery/when"),
        ("message", {"body": "hi"}, "/message/body"),
    ],
)
def test_unknown_field_in_a_nested_object_is_rejected(field: str, value: Any, pointer: str) -> None:
    assert _errors(_order(**{field: value})) == [(pointer, "unknown_field")]


# --- every error is listed ------------------------------------------------------------------------


def test_every_invalid_field_is_listed_not_just_the_first() -> None:
    data = {
        "items": [_item(quantity=0), {"name": "no sku"}],
        "currency": "XYZ",
        "customer": {"email": "not-an-email", "country": "XX"},
        "locale": "en-XX",
        "tags": [""],
        "metadata": {"Bad": 1},
        "colour": "red",
    }
    assert sorted(_errors(data)) == sorted(
        [
            ("/order_ref", "required"),
            ("/items/0/quantity", "too_small"),
            ("/items/1/sku", "required"),
            ("/currency", "invalid_currency"),
            ("/customer/email", "invalid_email"),
            ("/customer/country", "invalid_country"),
            ("/locale", "invalid_locale"),
            ("/tags/0", "too_short"),
            ("/metadata/Bad", "invalid_key"),
            ("/colour", "unknown_field"),
        ]
    )


def test_every_cross_field_error_is_listed() -> None:
    data = _order(
        currency="JPY",
        placed_at="2020-01-01T13:00:00Z",
        items=[_item(line_id="1", unit_price="1.5"), _item(line_id="1")],
        totals={"total": "0.5"},
        promised_delivery={"earliest": "2014-12-21", "latest": "2014-12-20"},
    )
    assert sorted(_errors(data)) == sorted(
        [
            ("/placed_at", "in_future"),
            ("/items/0/unit_price", "too_many_decimals"),
            ("/items/1/line_id", "duplicate"),
            ("/totals/total", "too_many_decimals"),
            ("/promised_delivery/latest", "invalid"),
        ]
    )


# --- test flag ------------------------------------------------------------------------------------


def test_test_flag_defaults_to_false() -> None:
    assert _doc(_order())["test"] is False


def test_test_flag_as_a_string_is_invalid_type() -> None:
    assert _errors(_order(test="true")) == [("/test", "invalid_type")]


# --- email ----------------------------------------------------------------------------------------


def test_customer_without_email_is_valid() -> None:
    assert _doc(_order(customer={"first_name": "John"}))["customer"]["email"] is None


def test_customer_email_null_is_valid() -> None:
    assert _doc(_order(customer={"email": None}))["customer"]["email"] is None


def test_invalid_customer_email_is_invalid_email() -> None:
    assert _errors(_order(customer={"email": "john@"})) == [("/customer/email", "invalid_email")]


def test_email_without_at_sign_is_invalid_email() -> None:
    data = _order(customer={"email": "john.example.com"})
    assert _errors(data) == [("/customer/email", "invalid_email")]


def test_valid_email_domain_is_lower_cased() -> None:
    doc = _doc(_order(customer={"email": "John.Brown@EXAMPLE.COM"}))
    assert doc["customer"]["email"] == "John.Brown@example.com"


def test_email_is_checked_without_a_dns_lookup() -> None:
    email = "john@no-such-host-for-ordergate-tests.com"
    assert _doc(_order(customer={"email": email}))["customer"]["email"] == email


def test_invalid_address_email_is_invalid_email_at_its_pointer() -> None:
    data = _order(shipping_address={"email": "nope"})
    assert _errors(data) == [("/shipping_address/email", "invalid_email")]


# --- countries ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("field", "pointer"), COUNTRY_POINTERS)
def test_alpha2_country_is_kept(field: str, pointer: str) -> None:
    assert _doc(_order(**{field: {"country": "GB"}}))[field]["country"] == "GB"


@pytest.mark.parametrize(("field", "pointer"), COUNTRY_POINTERS)
@pytest.mark.parametrize(("alpha3", "alpha2"), [("GBR", "GB"), ("DEU", "DE")])
def test_alpha3_country_is_normalised_to_alpha2(
    field: str, pointer: str, alpha3: str, alpha2: str
) -> None:
    assert _doc(_order(**{field: {"country": alpha3}}))[field]["country"] == alpha2


@pytest.mark.parametrize(("field", "pointer"), COUNTRY_POINTERS)
@pytest.mark.parametrize(("given", "expected"), [("gb", "GB"), ("deu", "DE")])
def test_lower_case_country_is_accepted_and_upper_cased(
    field: str, pointer: str, given: str, expected: str
) -> None:
    assert _doc(_order(**{field: {"country": given}}))[field]["country"] == expected


@pytest.mark.parametrize(("field", "pointer"), COUNTRY_POINTERS)
@pytest.mark.parametrize("code", ["XX", "XXX", "UK", "826"])
def test_unknown_country_is_invalid_country_at_its_pointer(
    field: str, pointer: str, code: str
) -> None:
    assert _errors(_order(**{field: {"country": code}})) == [(pointer, "invalid_country")]


# --- language, locale, currency, timezone ---------------------------------------------------------


def test_iso_639_1_language_is_accepted() -> None:
    assert _doc(_order(language="de"))["language"] == "de"


def test_upper_case_language_is_lower_cased() -> None:
    assert _doc(_order(language="EN"))["language"] == "en"


def test_unknown_language_is_invalid_language() -> None:
    assert _errors(_order(language="xx")) == [("/language", "invalid_language")]


def test_locale_ll_cc_is_accepted() -> None:
    assert _doc(_order(locale="en-GB"))["locale"] == "en-GB"


def test_locale_with_underscore_is_normalised_to_hyphen() -> None:
    assert _doc(_order(locale="en_GB"))["locale"] == "en-GB"


def test_locale_case_is_normalised() -> None:
    assert _doc(_order(locale="EN-gb"))["locale"] == "en-GB"


@pytest.mark.parametrize("locale", ["en-XX", "xx-GB", "en", "enGB"])
def test_malformed_or_unknown_locale_is_invalid_locale(locale: str) -> None:
    assert _errors(_order(locale=locale)) == [("/locale", "invalid_locale")]


def test_iso_4217_currency_is_accepted() -> None:
    assert _doc(_order(currency="EUR"))["currency"] == "EUR"


def test_lower_case_currency_is_upper_cased() -> None:
    assert _doc(_order(currency="gbp"))["currency"] == "GBP"


@pytest.mark.parametrize("currency", ["ABC", "GB", ""])
def test_unknown_currency_is_invalid_currency(currency: str) -> None:
    assert _errors(_order(currency=currency)) == [("/currency", "invalid_currency")]


def test_iana_timezone_is_accepted() -> None:
    assert _doc(_order(timezone="Europe/London"))["timezone"] == "Europe/London"


def test_unknown_timezone_is_invalid_timezone() -> None:
    assert _errors(_order(timezone="Mars/Olympus")) == [("/timezone", "invalid_timezone")]


def test_utc_offset_is_not_a_timezone_name() -> None:
    assert _errors(_order(timezone="+01:00")) == [("/timezone", "invalid_timezone")]


# --- money: input forms and output ----------------------------------------------------------------


def test_money_string_is_output_as_a_decimal_string() -> None:
    assert _doc(_price("55.99", currency="GBP"))["items"][0]["unit_price"] == "55.99"


def test_money_json_number_is_output_as_a_decimal_string() -> None:
    data = parse_json(
        b'{"order_ref":"R","currency":"GBP","items":[{"sku":"A","unit_price":55.99}]}'
    )
    assert _doc(data)["items"][0]["unit_price"] == "55.99"


def test_money_json_integer_is_output_at_the_minor_unit() -> None:
    data = parse_json(b'{"order_ref":"R","currency":"GBP","items":[{"sku":"A","unit_price":5}]}')
    assert _doc(data)["items"][0]["unit_price"] == "5.00"


def test_large_money_json_number_is_kept_exactly() -> None:
    data = parse_json(
        b'{"order_ref":"R","currency":"GBP","items":[{"sku":"A","unit_price":12345678901.23}]}'
    )
    assert _doc(data)["items"][0]["unit_price"] == "12345678901.23"


def test_money_is_quantised_to_the_currency_digits_on_output() -> None:
    assert _doc(_price("5.5", currency="GBP"))["items"][0]["unit_price"] == "5.50"


def test_zero_money_is_output_at_the_minor_unit() -> None:
    assert _doc(_price("0", currency="GBP"))["items"][0]["unit_price"] == "0.00"


def test_jpy_money_is_output_without_decimals() -> None:
    assert _doc(_price("1500", currency="JPY"))["items"][0]["unit_price"] == "1500"


def test_jpy_money_with_decimals_is_too_many_decimals() -> None:
    assert _errors(_price("1.5", currency="JPY")) == [("/items/0/unit_price", "too_many_decimals")]


def test_gbp_money_with_three_decimals_is_too_many_decimals() -> None:
    data = _price("1.234", currency="GBP")
    assert _errors(data) == [("/items/0/unit_price", "too_many_decimals")]


def test_kwd_money_with_three_decimals_is_accepted() -> None:
    assert _doc(_price("1.234", currency="KWD"))["items"][0]["unit_price"] == "1.234"


def test_kwd_money_with_four_decimals_is_too_many_decimals() -> None:
    data = _price("1.2345", currency="KWD")
    assert _errors(data) == [("/items/0/unit_price", "too_many_decimals")]


def test_trailing_zeros_beyond_the_minor_unit_are_accepted() -> None:
    assert _doc(_price("1.500", currency="GBP"))["items"][0]["unit_price"] == "1.50"


def test_trailing_zeros_make_a_whole_jpy_amount_acceptable() -> None:
    assert _doc(_price("7.000", currency="JPY"))["items"][0]["unit_price"] == "7"


def test_money_without_any_currency_accepts_four_decimals() -> None:
    assert _doc(_price("1.2345"))["items"][0]["unit_price"] == "1.2345"


def test_money_without_any_currency_rejects_five_decimals() -> None:
    assert _errors(_price("1.23456")) == [("/items/0/unit_price", "too_many_decimals")]


def test_item_currency_defaults_to_the_order_currency() -> None:
    assert _doc(_price("1", currency="GBP"))["items"][0]["currency"] == "GBP"


def test_item_currency_stays_empty_without_an_order_currency() -> None:
    assert _doc(_order())["items"][0]["currency"] is None


def test_item_currency_is_normalised() -> None:
    doc = _doc(_order(items=[_item(currency="eur")]))
    assert doc["items"][0]["currency"] == "EUR"


def test_unknown_item_currency_is_invalid_currency_at_its_pointer() -> None:
    data = _order(items=[_item(currency="ABC")])
    assert _errors(data) == [("/items/0/currency", "invalid_currency")]


def test_unit_price_follows_the_item_currency_not_the_order_currency() -> None:
    data = _order(currency="GBP", items=[_item(currency="KWD", unit_price="1.234")])
    assert _doc(data)["items"][0]["unit_price"] == "1.234"


def test_unit_price_too_precise_for_the_item_currency_is_too_many_decimals() -> None:
    data = _order(currency="GBP", items=[_item(currency="JPY", unit_price="1.5")])
    assert _errors(data) == [("/items/0/unit_price", "too_many_decimals")]


def test_totals_are_quantised_to_the_order_currency() -> None:
    data = _order(currency="GBP", totals={"total": "3.9", "tax": "0", "shipping": 4})
    totals = _doc(data)["totals"]
    assert (totals["total"], totals["tax"], totals["shipping"]) == ("3.90", "0.00", "4.00")


def test_totals_too_precise_for_the_order_currency_are_too_many_decimals() -> None:
    data = _order(currency="JPY", totals={"total": "100", "shipping": "1.5"})
    assert _errors(data) == [("/totals/shipping", "too_many_decimals")]


# --- money: invalid values ------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "abc", "", "1.2.3"])
def test_non_numeric_money_string_is_invalid_money(value: str) -> None:
    assert _errors(_price(value)) == [("/items/0/unit_price", "invalid_money")]


@pytest.mark.parametrize("body", [b"true", b"false", b"[1]", b'{"amount": 1}'])
def test_non_numeric_money_json_value_is_invalid_money(body: bytes) -> None:
    data = parse_json(b'{"order_ref":"R","items":[{"sku":"A","unit_price":' + body + b"}]}")
    assert _errors(data) == [("/items/0/unit_price", "invalid_money")]


def test_binary_float_money_is_refused_as_inexact() -> None:
    assert _errors(_price(1.5)) == [("/items/0/unit_price", "invalid_money")]


def test_money_of_a_trillion_is_out_of_range() -> None:
    assert _errors(_price("1000000000000")) == [("/items/0/unit_price", "out_of_range")]


def test_huge_money_json_number_is_out_of_range() -> None:
    data = parse_json(b'{"order_ref":"R","items":[{"sku":"A","unit_price":1e400}]}')
    assert _errors(data) == [("/items/0/unit_price", "out_of_range")]


def test_huge_negative_total_is_out_of_range() -> None:
    data = _order(totals={"discount": "-1000000000000"})
    assert _errors(data) == [("/totals/discount", "out_of_range")]


def test_money_just_below_a_trillion_is_accepted() -> None:
    doc = _doc(_price("999999999999.99", currency="GBP"))
    assert doc["items"][0]["unit_price"] == "999999999999.99"


@pytest.mark.parametrize(
    ("amount", "outcome"),
    [
        ("0000000000000000001.5", "1.5"),  # leading zeros are not significant
        ("000000999999999999.9999", "999999999999.9999"),
        ("0001000000000000", "out_of_range"),
        ("-1000000000000.5", "out_of_range"),
        ("1.00000000", "1.00000000"),  # zeros past the scale are not excess
        ("1.00001", "too_many_decimals"),
        ("-0.0000", "0.0000"),
        ("12.3400", "12.3400"),
    ],
)
def test_money_text_and_the_same_number_give_one_outcome(amount: str, outcome: str) -> None:
    # Text is decided on its characters (fields._money_from_text), numbers by Decimal
    # arithmetic: both must agree at every boundary.
    for sent in (amount, Decimal(amount)):
        data = _order(items=[_item(unit_price=None)], totals={"discount": sent})
        if outcome in ("out_of_range", "too_many_decimals"):
            assert _errors(data) == [("/totals/discount", outcome)]
        else:
            assert _doc(data)["totals"]["discount"] == outcome


def test_money_is_written_at_the_minor_unit_only_when_it_is_not() -> None:
    doc = _doc(_order(currency="GBP", items=[_item(unit_price="5.5")], totals={"total": "5.50"}))
    assert (doc["items"][0]["unit_price"], doc["totals"]["total"]) == ("5.50", "5.50")
    doc = _doc(_order(currency="JPY", items=[_item(unit_price="500.000")], totals={"tax": "0"}))
    assert (doc["items"][0]["unit_price"], doc["totals"]["tax"]) == ("500", "0")


def test_money_with_a_positive_exponent_is_output_in_plain_digits() -> None:
    data = parse_json(b'{"order_ref":"R","items":[{"sku":"A","unit_price":5E+3}]}')
    assert _doc(data)["items"][0]["unit_price"] == "5000"


def test_negative_unit_price_is_too_small() -> None:
    assert _errors(_price("-0.01", currency="GBP")) == [("/items/0/unit_price", "too_small")]


# --- times ----------------------------------------------------------------------------------------


def test_utc_timestamp_is_output_with_z() -> None:
    assert _doc(_order(placed_at="2014-12-10T09:30:00Z"))["placed_at"] == "2014-12-10T09:30:00Z"


def test_timestamp_with_offset_is_converted_to_utc() -> None:
    doc = _doc(_order(placed_at="2014-12-10T09:30:00+01:00"))
    assert doc["placed_at"] == "2014-12-10T08:30:00Z"


def test_naive_timestamp_is_treated_as_utc() -> None:
    assert _doc(_order(placed_at="2014-12-10T09:30:00"))["placed_at"] == "2014-12-10T09:30:00Z"


def test_bare_date_for_placed_at_means_midnight_utc() -> None:
    assert _doc(_order(placed_at="2014-12-10"))["placed_at"] == "2014-12-10T00:00:00Z"


def test_bare_date_for_fulfilled_at_means_midnight_utc() -> None:
    assert _doc(_order(fulfilled_at="2014-12-10"))["fulfilled_at"] == "2014-12-10T00:00:00Z"


def test_fractional_seconds_are_kept() -> None:
    doc = _doc(_order(placed_at="2014-12-10T09:30:00.123456Z"))
    assert doc["placed_at"] == "2014-12-10T09:30:00.123456Z"


def test_number_for_a_datetime_is_invalid_datetime() -> None:
    data = parse_json(b'{"order_ref":"R","items":[{"sku":"A"}],"placed_at":1418203800}')
    assert _errors(data) == [("/placed_at", "invalid_datetime")]


@pytest.mark.parametrize("value", ["yesterday", "2014-02-30", "2014-12-10T25:00:00Z", ""])
def test_unparseable_datetime_is_invalid_datetime(value: str) -> None:
    assert _errors(_order(placed_at=value)) == [("/placed_at", "invalid_datetime")]


def test_invalid_fulfilled_at_is_invalid_datetime_at_its_pointer() -> None:
    assert _errors(_order(fulfilled_at="soon")) == [("/fulfilled_at", "invalid_datetime")]


def test_placed_at_more_than_five_minutes_ahead_is_in_future() -> None:
    assert _errors(_order(placed_at="2020-01-01T12:05:01Z")) == [("/placed_at", "in_future")]


def test_placed_at_four_minutes_ahead_is_accepted() -> None:
    assert _doc(_order(placed_at="2020-01-01T12:04:00Z"))["placed_at"] == "2020-01-01T12:04:00Z"


def test_placed_at_exactly_five_minutes_ahead_is_accepted() -> None:
    assert _doc(_order(placed_at="2020-01-01T12:05:00Z"))["placed_at"] == "2020-01-01T12:05:00Z"


def test_future_check_compares_in_utc() -> None:
    # 13:10+01:00 is 12:10Z: ten minutes ahead of NOW although the wall clock says 13:10.
    assert _errors(_order(placed_at="2020-01-01T13:10:00+01:00")) == [("/placed_at", "in_future")]


def test_placed_at_in_the_past_is_accepted() -> None:
    assert _doc(_order(placed_at="2019-12-31T23:59:59Z"))["placed_at"] == "2019-12-31T23:59:59Z"


def test_promised_delivery_date_is_kept_as_a_date() -> None:
    doc = _doc(_order(promised_delivery={"date": "2014-12-20"}))
    assert doc["promised_delivery"] == {"date": "2014-12-20", "earliest": None, "latest": None}


@pytest.mark.parametrize(
    "value", ["2014-12-20T00:00:00Z", "20141220", "2014-02-30", "20/12/2014", "tomorrow"]
)
def test_promised_delivery_date_not_yyyy_mm_dd_is_invalid_date(value: str) -> None:
    data = _order(promised_delivery={"date": value})
    assert _errors(data) == [("/promised_delivery/date", "invalid_date")]


def test_promised_delivery_date_as_a_number_is_invalid_date() -> None:
    data = parse_json(
        b'{"order_ref":"R","items":[{"sku":"A"}],"promised_delivery":{"earliest":20141220}}'
    )
    assert _errors(data) == [("/promised_delivery/earliest", "invalid_date")]


def test_promised_earliest_after_latest_is_invalid_at_latest() -> None:
    data = _order(promised_delivery={"earliest": "2014-12-21", "latest": "2014-12-20"})
    assert _errors(data) == [("/promised_delivery/latest", "invalid")]


def test_promised_earliest_equal_to_latest_is_accepted() -> None:
    data = _order(promised_delivery={"earliest": "2014-12-20", "latest": "2014-12-20"})
    assert _doc(data)["promised_delivery"]["latest"] == "2014-12-20"


# --- tags -----------------------------------------------------------------------------------------


def test_tags_default_to_an_empty_list() -> None:
    assert _doc(_order())["tags"] == []


def test_one_hundred_tags_are_accepted() -> None:
    tags = [f"t{i}" for i in range(100)]
    assert _doc(_order(tags=tags))["tags"] == tags


def test_more_than_100_tags_is_too_many_items() -> None:
    assert _errors(_order(tags=[f"t{i}" for i in range(101)])) == [("/tags", "too_many_items")]


def test_empty_tag_is_too_short_at_its_index() -> None:
    assert _errors(_order(tags=["a", ""])) == [("/tags/1", "too_short")]


def test_tag_of_256_chars_is_too_long_at_its_index() -> None:
    assert _errors(_order(tags=["x" * 256])) == [("/tags/0", "too_long")]


def test_tag_of_255_chars_is_accepted() -> None:
    assert _doc(_order(tags=["x" * 255]))["tags"] == ["x" * 255]


def test_non_string_tag_is_invalid_type() -> None:
    data = parse_json(b'{"order_ref":"R","items":[{"sku":"A"}],"tags":["a",7]}')
    assert _errors(data) == [("/tags/1", "invalid_type")]


def test_duplicate_tags_are_collapsed_keeping_first_seen_order() -> None:
    assert _doc(_order(tags=["b", "a", "b", "c", "a"]))["tags"] == ["b", "a", "c"]


# --- metadata -------------------------------------------------------------------------------------


def test_metadata_defaults_to_an_empty_object() -> None:
    doc = _doc(_order())
    assert (doc["metadata"], doc["items"][0]["metadata"]) == ({}, {})


def test_metadata_accepts_string_number_boolean_and_null_values() -> None:
    data = parse_json(
        b'{"order_ref":"R","items":[{"sku":"A"}],'
        b'"metadata":{"s":"x","i":3,"n":1.5,"t":true,"f":false,"z":null}}'
    )
    assert _doc(data)["metadata"] == {"s": "x", "i": 3, "n": 1.5, "t": True, "f": False, "z": None}


@pytest.mark.parametrize("key", ["Erp", "erp-id", "erp id", "a" * 65, "é"])
def test_metadata_key_outside_the_pattern_is_invalid_key_at_the_key(key: str) -> None:
    assert _errors(_order(metadata={key: "x"})) == [(f"/metadata/{key}", "invalid_key")]


def test_metadata_key_of_64_chars_is_accepted() -> None:
    assert _doc(_order(metadata={"a" * 64: 1}))["metadata"] == {"a" * 64: 1}


def test_empty_metadata_key_is_invalid_key() -> None:
    assert _errors(_order(metadata={"": 1})) == [("/metadata/", "invalid_key")]


def test_metadata_key_pointer_is_escaped() -> None:
    assert _errors(_order(metadata={"a/b~c": 1})) == [("/metadata/a~1b~0c", "invalid_key")]


def test_nested_object_metadata_value_is_invalid_metadata_value() -> None:
    data = _order(metadata={"erp": {"id": 1}})
    assert _errors(data) == [("/metadata/erp", "invalid_metadata_value")]


def test_list_metadata_value_is_invalid_metadata_value() -> None:
    data = _order(metadata={"ids": [1, 2]})
    assert _errors(data) == [("/metadata/ids", "invalid_metadata_value")]


def test_metadata_string_of_1000_chars_is_accepted() -> None:
    assert _doc(_order(metadata={"note": "x" * 1000}))["metadata"]["note"] == "x" * 1000


def test_metadata_string_over_1000_chars_is_too_long_at_the_key() -> None:
    assert _errors(_order(metadata={"note": "x" * 1001})) == [("/metadata/note", "too_long")]


def test_two_hundred_metadata_keys_are_accepted() -> None:
    metadata = {f"k{i}": i for i in range(200)}
    assert _doc(_order(metadata=metadata))["metadata"] == metadata


def test_more_than_200_metadata_keys_is_too_many_items() -> None:
    data = _order(metadata={f"k{i}": i for i in range(201)})
    assert _errors(data) == [("/metadata", "too_many_items")]


def test_metadata_that_is_not_an_object_is_invalid_type() -> None:
    assert _errors(_order(metadata=["a"])) == [("/metadata", "invalid_type")]


def test_item_metadata_bad_key_is_invalid_key_at_its_nested_pointer() -> None:
    data = _order(items=[_item(metadata={"Bad": 1})])
    assert _errors(data) == [("/items/0/metadata/Bad", "invalid_key")]


def test_item_metadata_nested_value_is_invalid_metadata_value() -> None:
    data = _order(items=[_item(), _item(sku="B", metadata={"x": {"y": 1}})])
    assert _errors(data) == [("/items/1/metadata/x", "invalid_metadata_value")]


def test_item_metadata_with_too_many_keys_is_too_many_items() -> None:
    data = _order(items=[_item(metadata={f"k{i}": i for i in range(201)})])
    assert _errors(data) == [("/items/0/metadata", "too_many_items")]


# --- gtin and image_url ---------------------------------------------------------------------------


@pytest.mark.parametrize("gtin", ["12345670", "123456789012", "1234567890128", "07235211235464"])
def test_gtin_of_8_12_13_or_14_digits_is_kept_verbatim(gtin: str) -> None:
    assert _doc(_order(items=[_item(gtin=gtin)]))["items"][0]["gtin"] == gtin


def test_gtin_leading_zeros_are_kept() -> None:
    doc = _doc(_order(items=[_item(gtin="00000012345678")]))
    assert doc["items"][0]["gtin"] == "00000012345678"


@pytest.mark.parametrize("gtin", ["1234567", "123456789", "12345678901", "ABCDEFGH", "1234-678"])
def test_gtin_of_other_lengths_or_non_digits_is_invalid_gtin(gtin: str) -> None:
    assert _errors(_order(items=[_item(gtin=gtin)])) == [("/items/0/gtin", "invalid_gtin")]


def test_gtin_as_a_json_number_is_invalid_type() -> None:
    data = parse_json(b'{"order_ref":"R","items":[{"sku":"A","gtin":12345670}]}')
    assert _errors(data) == [("/items/0/gtin", "invalid_type")]


@pytest.mark.parametrize(
    "url", ["http://example.com/a.png", "https://cdn.example.com/p/1.jpg?w=200"]
)
def test_http_or_https_image_url_is_accepted(url: str) -> None:
    assert _doc(_order(items=[_item(image_url=url)]))["items"][0]["image_url"] == url


@pytest.mark.parametrize(
    "url", ["ftp://example.com/a.png", "javascript:alert(1)", "/img/a.png", "example.com/a.png"]
)
def test_non_http_image_url_is_invalid_url(url: str) -> None:
    assert _errors(_order(items=[_item(image_url=url)])) == [("/items/0/image_url", "invalid_url")]


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("gtin", "12345678\n", "invalid_gtin"),
        ("image_url", "https://example.com/a.png\n", "invalid_url"),
        ("unit_price", "12.50\n", "invalid_money"),
    ],
)
def test_a_final_newline_is_not_part_of_a_valid_value(field: str, value: str, code: str) -> None:
    # (a pattern's $ also matches before a final newline: the whole value must match)
    assert _errors(_order(items=[_item(**{field: value})])) == [(f"/items/0/{field}", code)]


def test_a_final_newline_makes_an_email_invalid_not_trimmed() -> None:
    assert _errors(_order(customer={"email": "a@example.com\n"})) == [
        ("/customer/email", "invalid_email")
    ]


def test_a_final_newline_makes_a_date_invalid() -> None:
    assert _errors(_order(promised_delivery={"date": "2024-01-01\n"})) == [
        ("/promised_delivery/date", "invalid_date")
    ]


# --- the whole document ---------------------------------------------------------------------------


def test_spec_example_normalises_to_itself_with_amounts_quantised() -> None:
    expected = _spec_example()
    expected["totals"]["tax"] = "0.00"
    expected["totals"]["discount"] = "0.00"
    assert _doc(_spec_example()) == expected


def test_spec_example_sent_as_json_bytes_gives_the_same_document() -> None:
    body = json.dumps(_spec_example()).encode()
    assert _doc(parse_json(body)) == _doc(_spec_example())


def test_every_field_appears_in_the_document_with_defaults() -> None:
    assert set(_doc(_order())) == set(_spec_example())


def test_revalidating_the_spec_document_gives_the_same_document() -> None:
    doc = _doc(_spec_example())
    assert _doc(doc) == doc


def test_normalisation_is_idempotent() -> None:
    data = parse_json(
        b"""{
        "order_ref": "R-1", "currency": "gbp", "language": "EN", "locale": "en_gb",
        "placed_at": "2014-12-10T10:30:00+01:00", "fulfilled_at": "2014-12-11",
        "customer": {"email": "Jo@EXAMPLE.com", "country": "gbr"},
        "shipping_address": {"country": "deu"},
        "items": [{"sku": "A", "unit_price": 5.5},
                  {"sku": "B", "unit_price": "1.500", "currency": "kwd", "quantity": 3}],
        "totals": {"total": 10, "tax": "0"},
        "tags": ["x", "y", "x"],
        "metadata": {"n": 2, "s": "v", "b": false}
        }"""
    )
    first = _doc(data)
    assert (first["currency"], first["locale"], first["items"][1]["currency"]) == (
        "GBP",
        "en-GB",
        "KWD",
    )
    assert _doc(first) == first


# --- regressions: each of these was once wrong -------------------------------------------------


def test_cross_field_errors_are_listed_beside_field_errors() -> None:
    data = _order(
        currency="GBP",
        customer={"email": "bad"},
        items=[_item(sku="A", line_id="1", unit_price="1.234"), _item(sku="B", line_id="1")],
    )
    assert _errors(data) == [
        ("/customer/email", "invalid_email"),
        ("/items/0/unit_price", "too_many_decimals"),
        ("/items/1/line_id", "duplicate"),
    ]


def test_cross_field_rules_skip_values_that_are_invalid_on_their_own() -> None:
    data = _order(currency="XXX1", items=[_item(unit_price="abc"), _item(line_id=5)])
    codes = _errors(data)
    assert ("/currency", "invalid_currency") in codes
    assert ("/items/0/unit_price", "invalid_money") in codes
    assert ("/items/1/line_id", "invalid_type") in codes


@pytest.mark.parametrize("number", ["1e300000", "1e1000000", "1e30", "-1e16"])
def test_huge_metadata_numbers_are_out_of_range_quickly(number: str) -> None:
    body = (
        b'{"order_ref": "R", "items": [{"sku": "A"}], "metadata": {"a": ' + number.encode() + b"}}"
    )
    with pytest.raises(ValidationFailed) as exc:
        validate_order(parse_json(body))
    assert [(e.pointer, e.code) for e in exc.value.errors] == [("/metadata/a", "out_of_range")]


@pytest.mark.parametrize("number", ["1e-400", "12345678901234567.5"])
def test_metadata_numbers_a_double_cannot_hold_are_refused_not_changed(number: str) -> None:
    body = (
        b'{"order_ref": "R", "items": [{"sku": "A"}], "metadata": {"a": ' + number.encode() + b"}}"
    )
    with pytest.raises(ValidationFailed) as exc:
        validate_order(parse_json(body))
    assert exc.value.errors[0].pointer == "/metadata/a"


def test_metadata_numbers_round_trip_through_a_stored_document() -> None:
    body = b'{"order_ref": "R", "items": [{"sku": "A"}], "metadata": {"a": 0.1, "b": 7, "c": -2.5}}'
    doc = to_document(validate_order(parse_json(body)))
    assert doc["metadata"] == {"a": 0.1, "b": 7, "c": -2.5}
    assert to_document(validate_order(json.loads(json.dumps(doc)))) == doc


@pytest.mark.parametrize("gtin", ["²²²²²²²²", "١٢٣٤٥٦٧٨", "123456789012345"])
def test_gtin_must_be_ascii_digits_of_a_gtin_length(gtin: str) -> None:
    assert _errors(_order(items=[_item(gtin=gtin)])) == [("/items/0/gtin", "invalid_gtin")]


def test_a_unix_timestamp_in_a_string_is_not_iso_8601() -> None:
    assert _errors(_order(placed_at="1418203800")) == [("/placed_at", "invalid_datetime")]


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("language", "eng", "invalid_language"),
        ("currency", "GBPX", "invalid_currency"),
        ("locale", "en-GBR", "invalid_locale"),
        ("timezone", "X" * 100, "invalid_timezone"),
    ],
)
def test_code_fields_of_the_wrong_length_get_their_own_code(
    field: str, value: str, code: str
) -> None:
    assert _errors(_order(**{field: value})) == [(f"/{field}", code)]


def test_country_of_the_wrong_length_is_invalid_country() -> None:
    assert _errors(_order(customer={"country": "GBRX"})) == [
        ("/customer/country", "invalid_country")
    ]


@pytest.mark.parametrize("text", ["1_000", "١٢", " 5.5 ", "+5", "5.", ".5", "1e3", ""])
def test_money_text_must_be_a_plain_decimal(text: str) -> None:
    assert _errors(_order(items=[_item(unit_price=text)])) == [
        ("/items/0/unit_price", "invalid_money")
    ]


def test_negative_zero_is_zero() -> None:
    doc = _doc(_order(currency="GBP", items=[_item(unit_price="-0")], totals={"total": "-0.00"}))
    assert doc["items"][0]["unit_price"] == "0.00"
    assert doc["totals"]["total"] == "0.00"


def test_the_document_json_is_the_document_serialised() -> None:
    # The import serialises the stored document straight from the model (document_json); it
    # must be the very text that orjson makes of to_document(), whatever the content.
    text = "".join(chr(c) for c in range(1, 0x250)) + "\u2028\u2029\ud7ff\ue000\U0001f600"
    orders = [
        factories.full_order(),
        _order(fulfilled_at="2019-05-01T10:00:00.5+02:00", placed_at="2019-05-01"),
        _order(
            items=[_item(name=text[:1000], metadata={"k": text[:900], "f": Decimal("0.1")})],
            tags=['é"\\/', text[:255]],
            metadata={"tiny": Decimal("1.5E-10"), "big": 2**53, "neg": Decimal("-2.5E+15")},
        ),
    ]
    for data in orders:
        order = validate_order(data, now=NOW)
        assert document_json(order) == orjson.dumps(to_document(order)).decode()
