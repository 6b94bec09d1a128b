"""DRF's field types and sentences, as parcelLab's API applies them to a body: each
reader records DRF's error for a bad value under its dotted ``attr`` and moves on, so that
every bad field of a body is reported at once."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

from ordergate.dialects.parcellab import Errors
from ordergate.orders.fields import country_alpha2

MONEY = re.compile(r"^-?[0-9]{1,8}(?:\.[0-9]{1,2})?$")
DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")

# DRF's sentences
REQUIRED = ("required", "This field is required.")
NULL = ("null", "This field may not be null.")
BLANK = ("blank", "This field may not be blank.")
NOT_STRING = ("invalid", "Not a valid string.")
INTEGER = ("invalid", "A valid integer is required.")
BOOLEAN = ("invalid", "Must be a valid boolean.")
PATTERN = ("invalid", "Enter a valid value.")
EMAIL = ("invalid", "Enter a valid email address.")
EMPTY = ("empty", "This list may not be empty.")
DATE_FORMAT = ("invalid", "Date has wrong format. Use one of these formats instead: YYYY-MM-DD.")
DATETIME_FORMAT = (
    "invalid",
    "Datetime has wrong format. Use one of these formats instead: "
    "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].",
)

_TRUE = (True, 1, "true", "True", "TRUE", "1", "yes", "on", "t", "y")
_FALSE = (False, 0, "false", "False", "FALSE", "0", "no", "off", "f", "n")
SKIP: Any = object()  # a field that is absent, or invalid (its error is recorded)


def type_name(value: Any) -> str:
    if isinstance(value, Decimal):
        return "float"
    return "NoneType" if value is None else type(value).__name__


def not_a_choice(value: Any) -> tuple[str, str]:
    return ("invalid_choice", f'"{value}" is not a valid choice.')


def too_long(n: int) -> tuple[str, str]:
    return ("max_length", f"Ensure this field has no more than {n} characters.")


def not_a_list(value: Any) -> tuple[str, str]:
    return ("not_a_list", f'Expected a list of items but got type "{type_name(value)}".')


def not_a_dict(value: Any) -> tuple[str, str]:
    return ("invalid", f"Invalid data. Expected a dictionary, but got {type_name(value)}.")


def _digits(number: int | Decimal) -> int:
    """About how many characters a number takes written out in full (cheaply: a JSON number
    may be ``1e999999999``)."""
    if isinstance(number, int):
        return number.bit_length() // 3 + 2
    if not number.is_finite():
        return 1_000_000
    exponent = number.as_tuple().exponent
    assert isinstance(exponent, int)
    return max(number.adjusted(), 0) + max(-exponent, 0) + 2


class Reader:
    """DRF's field types over one JSON object: each returns the value, ``None`` for an
    explicit ``null`` (where allowed: it clears the field), or ``SKIP``."""

    def __init__(self, data: dict[str, Any], prefix: str, errors: Errors) -> None:
        self.data = data
        self.prefix = prefix
        self.errors = errors

    def attr(self, key: str) -> str:
        return self.prefix + key

    def fail(self, key: str, error: tuple[str, str]) -> Any:
        self.errors.add(self.attr(key), *error)
        return SKIP

    def raw(self, key: str, *, nullable: bool = True, required: bool = False) -> Any:
        if key not in self.data:
            return self.fail(key, REQUIRED) if required else SKIP
        value = self.data[key]
        if value is None and not nullable:
            return self.fail(key, NULL)
        return value

    def text(
        self, key: str, max_length: int, *, nullable: bool = True, required: bool = False
    ) -> Any:
        value = self.raw(key, nullable=nullable, required=required)
        if value is SKIP or value is None:
            return value
        if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
            return self.fail(key, NOT_STRING)
        if not isinstance(value, str) and _digits(value) > max_length:
            return self.fail(key, too_long(max_length))  # before writing 1e999999999 out
        text = (str(value) if isinstance(value, str | int) else format(value, "f")).strip()
        if not text:
            return self.fail(key, BLANK)
        if len(text) > max_length:
            return self.fail(key, too_long(max_length))
        return text

    def money(self, key: str) -> Any:
        value = self.raw(key)
        if value is SKIP or value is None:
            return value
        if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
            return self.fail(key, NOT_STRING)
        if not isinstance(value, str) and _digits(value) > 12:
            return self.fail(key, PATTERN)
        text = str(value).strip()
        if not MONEY.match(text):
            return self.fail(key, PATTERN)
        return text

    def integer(self, key: str, *, low: int, high: int, required: bool = False) -> Any:
        value = self.raw(key, nullable=False, required=required)
        if value is SKIP:
            return value
        number: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, Decimal) and value.is_finite() and value == value.to_integral():
            number = int(value) if value.adjusted() < 20 else None
        elif isinstance(value, str) and re.fullmatch(r"\s*-?[0-9]{1,20}(?:\.0*)?\s*", value):
            number = int(value.strip().split(".")[0])
        if number is None:
            return self.fail(key, INTEGER)
        if number < low:
            return self.fail(
                key, ("min_value", f"Ensure this value is greater than or equal to {low}.")
            )
        if number > high:
            return self.fail(
                key, ("max_value", f"Ensure this value is less than or equal to {high}.")
            )
        return number

    def boolean(self, key: str) -> Any:
        value = self.raw(key)
        if value is SKIP or value is None:
            return value
        if isinstance(value, bool | int | str) and value in _TRUE:
            return True
        if isinstance(value, bool | int | str) and value in _FALSE:
            return False
        return self.fail(key, BOOLEAN)

    def date(self, key: str) -> Any:
        value = self.raw(key)
        if value is SKIP or value is None:
            return value
        if not isinstance(value, str) or not DATE.match(value.strip()):
            return self.fail(key, DATE_FORMAT)
        try:
            return dt.date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            return self.fail(key, DATE_FORMAT)

    def datetime(self, key: str, *, nullable: bool = True) -> Any:
        value = self.raw(key, nullable=nullable)
        if value is SKIP or value is None:
            return value
        parsed = parse_datetime(value)
        return self.fail(key, DATETIME_FORMAT) if parsed is None else parsed

    def choice(self, key: str, choices: tuple[str, ...], *, required: bool = False) -> Any:
        value = self.raw(key, nullable=not required, required=required)
        if value is SKIP or value is None:
            return value
        if not isinstance(value, str) or value not in choices:
            return self.fail(key, not_a_choice(value))
        return value

    def country(self, key: str, *, required: bool = False) -> Any:
        """ISO 3166-1 alpha-3 (``DEU``) → the canonical alpha-2 (``DE``)."""
        value = self.text(key, 3, nullable=not required, required=required)
        if value is SKIP or value is None:
            return value
        alpha2 = country_alpha2(value) if len(value) == 3 and value.isalpha() else None
        return self.fail(key, not_a_choice(value)) if alpha2 is None else alpha2

    def object(self, key: str) -> Any:
        value = self.raw(key)
        if value is SKIP or value is None:
            return value
        return value if isinstance(value, dict) else self.fail(key, not_a_dict(value))

    def array(self, key: str, *, required: bool = False) -> Any:
        value = self.raw(key, nullable=False, required=required)
        if value is SKIP:
            return value
        return value if isinstance(value, list) else self.fail(key, not_a_list(value))


def parse_datetime(value: Any) -> dt.datetime | None:
    """DRF's ISO 8601 date-time (naive = UTC), or None."""
    if not isinstance(value, str) or not re.match(r"^\s*[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ]", value):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace("z", "Z").replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        return parsed.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        return None
