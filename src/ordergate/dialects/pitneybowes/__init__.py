"""The ``pitneybowes`` dialect: Pitney Bowes Shipping 360 Order Management API v1.

Pitney Bowes answers errors as ``{"errors": [{"errorCode", "errorDescription",
"additionalInfo"}]}``, one entry per problem, ``additionalInfo`` the camelCase path of the
field (``toAddress.countryCode``, ``items[0].quantity``).

- :mod:`.body`: a create or patch body → the canonical fields it sets, with PB's errors.
- :mod:`.render`: a stored order → Pitney Bowes' order object.
- :mod:`.ids`: the ``PB…`` order ids.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson

VIA = "pitneybowes"

# errorCode values
MISSING = "MISSING_REQUIRED_FIELD"
INVALID_TYPE = "INVALID_FIELD_TYPE"
INVALID_LENGTH = "INVALID_FIELD_LENGTH"
INVALID_VALUE = "INVALID_FIELD_VALUE"
INVALID_COUNTRY = "INVALID_COUNTRY_CODE"
INVALID_POSTAL_CODE = "INVALID_POSTAL_CODE"
INVALID_STATE = "INVALID_STATE_PROVINCE"
INVALID_EMAIL = "INVALID_EMAIL"
INVALID_BODY = "INVALID_REQUEST_BODY"
DUPLICATE = "DUPLICATE_ORDER_NUMBER"
IMMUTABLE = "FIELD_NOT_UPDATABLE"
INVALID_STATE_CHANGE = "INVALID_ORDER_STATE"
NOT_FOUND = "ORDER_NOT_FOUND"


class Errors:
    """PB's error list, in the order the fields were checked (one entry per field)."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, path: str | None, code: str, description: str) -> None:
        if any(e.get("additionalInfo") == path for e in self.items if path is not None):
            return  # one problem per field
        entry: dict[str, Any] = {"errorCode": code, "errorDescription": description}
        if path is not None:
            entry["additionalInfo"] = path
        self.items.append(entry)

    def has(self, path: str) -> bool:
        return any(
            (e.get("additionalInfo") or "") == path
            or (e.get("additionalInfo") or "").startswith((path + ".", path + "["))
            for e in self.items
        )

    def __bool__(self) -> bool:
        return bool(self.items)

    def body(self) -> dict[str, Any]:
        return {"errors": self.items}


def error_body(code: str, description: str, path: str | None = None) -> dict[str, Any]:
    errors = Errors()
    errors.add(path, code, description)
    return errors.body()


def _exact(value: Any) -> Any:
    if isinstance(value, Decimal):
        return orjson.Fragment(format(value, "f").encode())
    raise TypeError(f"{type(value).__name__} is not JSON")


def _big_ints_as_decimals(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _big_ints_as_decimals(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_big_ints_as_decimals(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**64:
        return Decimal(value)
    return value


def dumps(value: Any) -> bytes:
    """JSON, with decimals written as the numbers they are (no binary float on the way), and
    whole numbers beyond 64 bits too."""
    try:
        return orjson.dumps(value, default=_exact)
    except orjson.JSONEncodeError:
        return orjson.dumps(_big_ints_as_decimals(value), default=_exact)
