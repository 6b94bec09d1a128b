"""Field types of the canonical order: code tables, money, times and metadata.

Each type validates with a stable error code (the ``PydanticCustomError`` type), which
``model.validate_order`` turns into a field error with a JSON pointer. Code tables come from
maintained packages: pycountry (ISO 3166-1, ISO 639-1), iso4217 (currencies with their minor
units, which pycountry does not carry) and zoneinfo/tzdata (IANA time zones).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import zoneinfo
from collections.abc import Iterable
from decimal import Decimal
from typing import Annotated, Any

import email_validator
import iso4217
import pycountry
from email_validator import EmailNotValidError, validate_email
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    PlainSerializer,
    WithJsonSchema,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from ordergate.db import MONEY_SCALE


def _error(code: str, message: str, **ctx: Any) -> PydanticCustomError:
    return PydanticCustomError(code, message, ctx or None)


# --- reading JSON text ---------------------------------------------------------------------
#
# JSON text is validated by one caller only, model.validate_order_json, and it leaves any
# text with an error to validate_order. So reading JSON text, a type may first try a shortcut:
# a schema that pydantic-core checks on its own, with no call into Python. A value that the
# shortcut accepts is one that the type's validators accept with the same result (each
# shortcut is checked against them in tests/orders/test_fields.py); any other value goes on to
# the validators as usual. Python input (dicts, the careful path) never sees a shortcut.


class JsonShortcut:
    """``Annotated[T, ..., JsonShortcut(schema)]``: reading JSON text, ``schema`` first, then
    T's own validation (or, when given, the ``json`` validator instead of it)."""

    def __init__(self, schema: CoreSchema, *, json: Any = None) -> None:
        self.schema, self.json = schema, json

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        careful = handler(source)
        careful_json: CoreSchema = careful
        if self.json is not None:
            careful_json = core_schema.no_info_after_validator_function(
                self.json, core_schema.any_schema()
            )
        return core_schema.json_or_python_schema(
            json_schema=core_schema.union_schema([self.schema, careful_json], mode="left_to_right"),
            python_schema=careful,
        )

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return handler(schema["python_schema"])


def _one_of(values: Iterable[str]) -> CoreSchema:
    return core_schema.literal_schema(sorted(values))


# --- code tables ---------------------------------------------------------------------------


@functools.cache
def country_alpha2(code: str) -> str | None:
    code = code.upper()
    if len(code) == 2:
        c = pycountry.countries.get(alpha_2=code)
    elif len(code) == 3:
        c = pycountry.countries.get(alpha_3=code)
    else:
        return None
    return None if c is None else str(c.alpha_2)


def _country(value: str) -> str:
    alpha2 = country_alpha2(value)
    if alpha2 is None:
        raise _error("invalid_country", "Not an ISO 3166-1 alpha-2 or alpha-3 country code")
    return alpha2


@functools.cache
def _is_language(code: str) -> bool:
    return len(code) == 2 and pycountry.languages.get(alpha_2=code) is not None


def _language(value: str) -> str:
    value = value.lower()
    if len(value) != 2 or not _is_language(value):
        raise _error("invalid_language", "Not an ISO 639-1 language code")
    return value


_LOCALE = re.compile(r"^([A-Za-z]{2})[-_]([A-Za-z]{2})$")


def _locale(value: str) -> str:
    m = _LOCALE.fullmatch(value) if len(value) == 5 else None
    if not m or not _is_language(m[1].lower()) or country_alpha2(m[2]) is None:
        raise _error("invalid_locale", "Not a locale of the form ll-CC (ISO 639-1, ISO 3166-1)")
    return f"{m[1].lower()}-{m[2].upper()}"


@functools.cache
def currency_exponent(code: str) -> int | None:
    """Minor-unit digits of an ISO 4217 currency (GBP 2, JPY 0, KWD 3); None if unknown."""
    try:
        exponent: int | None = iso4217.Currency(code).exponent
        return exponent
    except ValueError:
        return None


def _currency(value: str) -> str:
    value = value.upper()
    if len(value) != 3 or currency_exponent(value) is None:
        raise _error("invalid_currency", "Not an ISO 4217 currency code")
    return value


@functools.cache
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _timezone(value: str) -> str:
    if len(value) > 64 or value not in _timezones():
        raise _error("invalid_timezone", "Not an IANA time zone name (e.g. Europe/London)")
    return value


# The common address, in the forms email-validator treats without surprises: an ASCII dot-atom
# local part and an ASCII host name with an alphabetic top-level domain. For these its
# normalisation is the domain in lower case; anything else goes through the library.
# (tests/orders/test_fields.py checks the shortcut against the library.)
_PLAIN_EMAIL = re.compile(
    r"^([A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*)"
    r"@((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+([A-Za-z]{2,63}))$"
)
_SPECIAL_USE = frozenset(email_validator.SPECIAL_USE_DOMAIN_NAMES)


def _plain_email(value: str) -> str | None:
    m = _PLAIN_EMAIL.fullmatch(value)
    if (
        m is None
        or len(value) > 254
        or len(m[1]) > 64
        or len(m[2]) > 253
        or "--" in m[2]  # IDNA's reserved hyphens (xn--…): the library decides
        or m[3].lower() in _SPECIAL_USE
    ):
        return None
    return f"{m[1]}@{m[2].lower()}"


def normalise_email(value: str) -> str:
    plain = _plain_email(value)
    if plain is not None:
        return plain
    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise _error(
            "invalid_email", "Not a valid email address: {reason}", reason=str(exc)
        ) from None
    return str(result.normalized)


_GTIN = re.compile(r"^(?:[0-9]{8}|[0-9]{12,14})$")


def _gtin(value: str) -> str:
    if not _GTIN.fullmatch(value):
        raise _error("invalid_gtin", "A GTIN is 8, 12, 13 or 14 digits")
    return value


_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)


def _url(value: str) -> str:
    if not _URL.fullmatch(value):
        raise _error("invalid_url", "Not an absolute http(s) URL")
    return value


# --- money -----------------------------------------------------------------------------------

MONEY_LIMIT = Decimal(10) ** 12
_MONEY_TEXT = re.compile(r"^-?([0-9]{1,20})(?:\.([0-9]{1,20}))?$")


@functools.cache
def minor_unit(digits: int) -> Decimal:
    """The quantum of ``digits`` decimal places: 2 → ``0.01``."""
    return Decimal(1).scaleb(-digits)


_SCALE = minor_unit(MONEY_SCALE)


def _not_a_decimal() -> PydanticCustomError:
    return _error("invalid_money", "Not a decimal number like 55.99")


def _too_large() -> PydanticCustomError:
    return _error("out_of_range", "A money amount must be below 1,000,000,000,000")


def _too_precise() -> PydanticCustomError:
    return _error("too_many_decimals", "At most {n} decimal places", n=MONEY_SCALE)


def _money_in(value: Any) -> Decimal:
    # JSON numbers arrive as Decimal (the body is parsed without binary floats) or int; text
    # is accepted too. A float is refused: it is already inexact. It comes from Python callers,
    # or from JSON text read by pydantic-core (model.validate_order_json), which then leaves
    # the text to validate_order.
    if isinstance(value, str):
        return _money_from_text(value)
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise _error("invalid_money", "A money amount is a decimal string or a JSON number")
    d = Decimal(value)
    if not d.is_finite():
        raise _not_a_decimal()
    if d.is_zero():
        d = d.copy_abs()  # "-0" is 0
    if d.copy_abs() >= MONEY_LIMIT:  # copy_abs: no rounding, so no overflow on 1E+1000000
        raise _too_large()
    exponent = d.as_tuple().exponent
    assert isinstance(exponent, int)
    if -exponent > MONEY_SCALE and d != d.quantize(_SCALE):
        raise _too_precise()
    return d


def _money_from_text(value: str) -> Decimal:
    """The common case, decided on the text: what the pattern admits is finite, below the
    limit when its whole part has at most 12 significant digits, and within the scale when
    it has at most :data:`MONEY_SCALE` decimals."""
    m = _MONEY_TEXT.fullmatch(value)
    if m is None:
        raise _not_a_decimal()
    whole, fraction = m.groups()
    if len(whole) > 12 and len(whole.lstrip("0")) > 12:
        raise _too_large()
    d = Decimal(value)
    if fraction is not None and len(fraction) > MONEY_SCALE and d != d.quantize(_SCALE):
        raise _too_precise()
    if value[0] == "-" and d.is_zero():
        d = d.copy_abs()  # "-0" is 0
    return d


def money_text(value: Decimal) -> str:
    text = str(value)  # plain notation but for large exponents, and 3x faster than format()
    return text if "E" not in text else format(value, "f")


_money_schema = WithJsonSchema(
    {"type": ["string", "number"], "pattern": _MONEY_TEXT.pattern, "examples": ["55.99"]}
)
# The shortcut: a non-negative amount of at most 12 digits and 4 decimals, as text, which
# _money_in reads as Decimal(text) too (a negative amount may be "-0", which it reads as 0).
_MONEY_TEXT_SHORTCUT = core_schema.chain_schema(
    [
        core_schema.str_schema(pattern=rf"^[0-9]{{1,12}}(?:\.[0-9]{{1,{MONEY_SCALE}}})?$"),
        core_schema.decimal_schema(strict=False),
    ]
)
Money = Annotated[
    Decimal,
    BeforeValidator(_money_in),
    JsonShortcut(_MONEY_TEXT_SHORTCUT),
    PlainSerializer(money_text, return_type=str),
    _money_schema,
]


def _non_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise _error("too_small", "Must not be negative")
    return value


PositiveMoney = Annotated[Money, AfterValidator(_non_negative), JsonShortcut(_MONEY_TEXT_SHORTCUT)]


# --- times -------------------------------------------------------------------------------------

_DATE_ONLY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_ISO_START = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[Tt ]|$)")


def _datetime_in(value: Any) -> Any:
    if not isinstance(value, str) or not _ISO_START.match(value):
        raise _error("invalid_datetime", "An ISO 8601 date-time string is expected")
    if _DATE_ONLY.fullmatch(value):
        return value + "T00:00:00Z"  # a bare date means midnight UTC
    return value


def _as_utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:  # 9999-12-31T23:00-05:00 is past the last representable instant
        raise _error("invalid_datetime", "Out of the representable range") from None


def iso_utc(value: dt.datetime) -> str:
    """``2014-12-10T09:30:00Z`` (microseconds only when present)."""
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


Timestamp = Annotated[
    dt.datetime,
    BeforeValidator(_datetime_in),
    Field(strict=False),
    AfterValidator(_as_utc),
    PlainSerializer(iso_utc, return_type=str),
]


def _date_in(value: Any) -> Any:
    if not isinstance(value, str) or not _DATE_ONLY.fullmatch(value):
        raise _error("invalid_date", "A date of the form YYYY-MM-DD is expected")
    return value


Date = Annotated[dt.date, BeforeValidator(_date_in), Field(strict=False)]


# --- strings and codes --------------------------------------------------------------------------


Str32 = Annotated[str, Field(max_length=32)]
Str64 = Annotated[str, Field(max_length=64)]
Str255 = Annotated[str, Field(max_length=255)]
Str1000 = Annotated[str, Field(max_length=1000)]
Str2000 = Annotated[str, Field(max_length=2000)]
NonEmpty64 = Annotated[str, Field(min_length=1, max_length=64)]
NonEmpty255 = Annotated[str, Field(min_length=1, max_length=255)]


# Code fields have no max_length of their own: a wrong length is reported with the field's own
# code (invalid_country, not too_long); each validator checks the length first, so a long
# string costs nothing.
# The shortcuts: the codes in their normal form (a country's alpha-2, a language in lower case,
# a currency in upper case), which the validators return as they are.
_COUNTRIES = _one_of(str(c.alpha_2) for c in pycountry.countries)
_LANGUAGES = _one_of(str(lang.alpha_2) for lang in pycountry.languages if hasattr(lang, "alpha_2"))
_CURRENCIES = _one_of(c.code for c in iso4217.Currency if currency_exponent(c.code) is not None)
_TIMEZONES = _one_of(name for name in _timezones() if len(name) <= 64)
_GTIN_TEXT = core_schema.str_schema(pattern=_GTIN.pattern)
# _URL's pattern for Rust's regex engine: "http" in ASCII letters only, and Python's
# whitespace (\s and the separators U+001C to U+001F, which Rust's \s leaves out).
_URL_TEXT = core_schema.str_schema(
    max_length=2048,
    pattern=r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s\x1c-\x1f/$.?#][^\s\x1c-\x1f]*$",
)

CountryCode = Annotated[str, AfterValidator(_country), JsonShortcut(_COUNTRIES)]
LanguageCode = Annotated[str, AfterValidator(_language), JsonShortcut(_LANGUAGES)]
Locale = Annotated[str, AfterValidator(_locale)]
CurrencyCode = Annotated[str, AfterValidator(_currency), JsonShortcut(_CURRENCIES)]
Timezone = Annotated[str, AfterValidator(_timezone), JsonShortcut(_TIMEZONES)]
Email = Annotated[str, Field(max_length=320), AfterValidator(normalise_email)]
Gtin = Annotated[str, AfterValidator(_gtin), JsonShortcut(_GTIN_TEXT)]
Url = Annotated[str, Field(max_length=2048), AfterValidator(_url), JsonShortcut(_URL_TEXT)]


# --- metadata ----------------------------------------------------------------------------------

METADATA_KEY = re.compile(r"^[a-z0-9_]{1,64}$")
METADATA_MAX_KEYS = 200
METADATA_MAX_VALUE_CHARS = 1000


def _metadata_value(v: Any) -> Any:
    if isinstance(v, str):  # the common case first
        if len(v) > METADATA_MAX_VALUE_CHARS:
            raise _error("string_too_long", "At most {n} characters", n=METADATA_MAX_VALUE_CHARS)
        return v
    if isinstance(v, Decimal | float) and not isinstance(v, bool):
        # a float comes from a stored document (or a Python caller): read it as its shortest repr
        return _metadata_number(Decimal(repr(v)) if isinstance(v, float) else v)
    if isinstance(v, int) and not isinstance(v, bool):
        return _metadata_number(Decimal(v))
    if v is None or isinstance(v, bool | int | float):
        return v
    raise _error("invalid_metadata_value", "Must be a string, number, boolean or null")


_SAFE_INTEGER = 2**53


def _metadata_number(v: Decimal) -> int | float:
    """A metadata number as stored: an int, or a double that is exactly what was sent.

    Metadata is not money, and JSON documents keep numbers as IEEE doubles; a number a double
    cannot hold exactly is refused rather than silently changed (send it as a string).
    """
    if not v.is_finite() or v.adjusted() > 15 or (not v.is_zero() and v.adjusted() < -15):
        raise _error("out_of_range", "Numbers must be within ±9007199254740992; use a string")
    if v == v.to_integral_value():
        if abs(v) > _SAFE_INTEGER:
            raise _error("out_of_range", "Numbers must be within ±9007199254740992; use a string")
        return int(v)
    f = float(v)
    if Decimal(repr(f)) != v:
        raise _error("imprecise_number", "A double cannot hold this number exactly; use a string")
    return f


def _metadata_json_value(v: Any) -> Any:
    # Read straight from JSON text (model.validate_order_json), a number with a fraction or
    # an exponent arrives as a double, already rounded, so that what was sent can no longer be
    # told: it is refused, and the text left to validate_order, which reads it exactly.
    if isinstance(v, float):
        raise _error("inexact_number", "A number with a fraction or an exponent, read as a double")
    return _metadata_value(v)


# The shortcut: what _metadata_value returns as it is (a string of at most 1,000 characters, an
# integer a double holds exactly, a boolean, null).
_METADATA_SHORTCUT = core_schema.union_schema(
    [
        core_schema.str_schema(max_length=METADATA_MAX_VALUE_CHARS, strict=True),
        core_schema.bool_schema(strict=True),
        core_schema.int_schema(ge=-_SAFE_INTEGER, le=_SAFE_INTEGER, strict=True),
        core_schema.none_schema(),
    ],
    mode="left_to_right",
)

MetadataKey = Annotated[str, Field(pattern=METADATA_KEY.pattern, max_length=64)]
MetadataValue = Annotated[
    Any,
    AfterValidator(_metadata_value),
    JsonShortcut(_METADATA_SHORTCUT, json=_metadata_json_value),
]
Metadata = Annotated[
    dict[MetadataKey, MetadataValue],
    Field(max_length=METADATA_MAX_KEYS),
    WithJsonSchema(
        {
            "type": "object",
            "maxProperties": METADATA_MAX_KEYS,
            "propertyNames": {"pattern": METADATA_KEY.pattern},
            "additionalProperties": {"type": ["string", "number", "boolean", "null"]},
        }
    ),
]
