"""Rules that span fields (money scale per currency, unique line ids, times, date ranges).

They read a small :class:`Facts` view rather than the model, so that the same rules run in
both cases: on a valid order, and on an input where other fields failed, so that a 422 lists
*every* invalid field, not only the ones pydantic saw first. From raw input each fact is read
defensively: a value that is invalid on its own is already reported and is simply skipped.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter, ValidationError

from ordergate.errors import FieldError
from ordergate.orders.fields import (
    CurrencyCode,
    Date,
    Money,
    Timestamp,
    currency_exponent,
    minor_unit,
)

if TYPE_CHECKING:
    from ordergate.orders.model import Order

FUTURE_TOLERANCE = dt.timedelta(minutes=5)
TOTALS = ("total", "subtotal", "shipping", "tax", "discount")


@dataclass(slots=True)
class ItemFacts:
    line_id: str | None
    currency: str | None
    unit_price: Decimal | None


@dataclass(slots=True)
class Facts:
    currency: str | None = None
    placed_at: dt.datetime | None = None
    fulfilled_at: dt.datetime | None = None
    items: list[ItemFacts] = field(default_factory=list)
    totals: dict[str, Decimal] = field(default_factory=dict)
    earliest: dt.date | None = None
    latest: dt.date | None = None


def facts_of(order: Order) -> Facts:
    pd = order.promised_delivery
    totals = order.totals
    return Facts(
        currency=order.currency,
        placed_at=order.placed_at,
        fulfilled_at=order.fulfilled_at,
        items=[ItemFacts(i.line_id, i.currency, i.unit_price) for i in order.items],
        totals={
            name: value
            for name in TOTALS
            if totals is not None and (value := getattr(totals, name)) is not None
        },
        earliest=pd.earliest if pd else None,
        latest=pd.latest if pd else None,
    )


_currency: TypeAdapter[str] = TypeAdapter(CurrencyCode)
_money: TypeAdapter[Decimal] = TypeAdapter(Money)
_timestamp: TypeAdapter[dt.datetime] = TypeAdapter(Timestamp)
_date: TypeAdapter[dt.date] = TypeAdapter(Date)


def _read(adapter: TypeAdapter[Any], obj: Any, key: str) -> Any:
    value = obj.get(key) if isinstance(obj, dict) else None
    if value is None:
        return None
    try:
        return adapter.validate_python(value)
    except ValidationError:
        return None


def raw_facts(data: Any) -> Facts:
    """Facts from input that failed validation; anything unreadable is left out."""
    if not isinstance(data, dict):
        return Facts()
    items = data.get("items")
    pd = data.get("promised_delivery")
    totals = data.get("totals")
    return Facts(
        currency=_read(_currency, data, "currency"),
        placed_at=_read(_timestamp, data, "placed_at"),
        fulfilled_at=_read(_timestamp, data, "fulfilled_at"),
        items=[
            ItemFacts(
                line_id=line_id if isinstance(line_id := item.get("line_id"), str) else None,
                currency=_read(_currency, item, "currency"),
                unit_price=_read(_money, item, "unit_price"),
            )
            if isinstance(item, dict)
            else ItemFacts(None, None, None)
            for item in (items if isinstance(items, list) else [])
        ],
        totals={
            name: value for name in TOTALS if (value := _read(_money, totals, name)) is not None
        },
        earliest=_read(_date, pd, "earliest"),
        latest=_read(_date, pd, "latest"),
    )


def has_excess_digits(amount: Decimal, currency: str | None) -> bool:
    """More decimals than the currency's minor unit holds (trailing zeros are not excess)."""
    digits = currency_exponent(currency) if currency else None
    return digits is not None and amount != amount.quantize(minor_unit(digits))


def _too_many_decimals(ptr: str, currency: str | None) -> FieldError:
    digits = currency_exponent(currency) if currency else None
    return FieldError(
        ptr, "too_many_decimals", f"{currency} amounts have at most {digits} decimal places"
    )


def check(facts: Facts, now: dt.datetime | None = None) -> list[FieldError]:
    # Runs for every order: pointers and messages are made only for errors.
    errors: list[FieldError] = []
    if facts.placed_at is not None or facts.fulfilled_at is not None:
        latest = (now or dt.datetime.now(dt.UTC)) + FUTURE_TOLERANCE
        for name, value in (("placed_at", facts.placed_at), ("fulfilled_at", facts.fulfilled_at)):
            if value is not None and value > latest:
                errors.append(
                    FieldError(f"/{name}", "in_future", "Must not be more than 5 minutes ahead")
                )

    seen: dict[str, int] = {}
    for i, item in enumerate(facts.items):
        line_id = item.line_id if item.line_id is not None else str(i + 1)
        if line_id in seen:
            errors.append(
                FieldError(
                    f"/items/{i}/line_id",
                    "duplicate",
                    f"line_id {line_id!r} is already used by /items/{seen[line_id]}",
                )
            )
        else:
            seen[line_id] = i
        if item.unit_price is not None:
            currency = item.currency or facts.currency
            if has_excess_digits(item.unit_price, currency):
                errors.append(_too_many_decimals(f"/items/{i}/unit_price", currency))
    for name, amount in facts.totals.items():
        if has_excess_digits(amount, facts.currency):
            errors.append(_too_many_decimals(f"/totals/{name}", facts.currency))

    if facts.earliest and facts.latest and facts.earliest > facts.latest:
        errors.append(
            FieldError("/promised_delivery/latest", "invalid", "Must not be before earliest")
        )
    return errors
