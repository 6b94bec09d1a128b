"""The order lifecycle: the status vocabulary, the allowed transitions, and how the status
follows from what has been fulfilled.

    unfulfilled ──► partially_fulfilled ──► fulfilled
         │                  │
         └──────────────────┴──────────► cancelled

Fulfilments are recorded per line quantity; the status is derived from them and never set
directly. ``fulfilled`` and ``cancelled`` are final.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from enum import StrEnum
from typing import Any

import uuid_utils.compat as uuid_utils

from ordergate.orders.errors import InvalidTransition
from ordergate.orders.fields import iso_utc


class Status(StrEnum):
    UNFULFILLED = "unfulfilled"  # accepted; nothing shipped yet
    PARTIALLY_FULFILLED = "partially_fulfilled"  # some, not all, item quantities shipped
    FULFILLED = "fulfilled"  # every item quantity shipped (final)
    CANCELLED = "cancelled"  # will not be fulfilled further (final)


TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.UNFULFILLED: frozenset({Status.PARTIALLY_FULFILLED, Status.FULFILLED, Status.CANCELLED}),
    Status.PARTIALLY_FULFILLED: frozenset(
        {Status.PARTIALLY_FULFILLED, Status.FULFILLED, Status.CANCELLED}
    ),
    Status.FULFILLED: frozenset(),
    Status.CANCELLED: frozenset(),
}


def check_transition(current: Status, new: Status) -> None:
    if new not in TRANSITIONS[current]:
        raise InvalidTransition(f"An order that is {current} cannot become {new}")


def fulfilled_quantities(fulfillments: Iterable[dict[str, Any]]) -> dict[str, int]:
    done: dict[str, int] = {}
    for f in fulfillments:
        for line in f["items"]:
            done[line["line_id"]] = done.get(line["line_id"], 0) + line["quantity"]
    return done


def remaining_quantities(
    items: Iterable[dict[str, Any]], fulfillments: Iterable[dict[str, Any]]
) -> dict[str, int]:
    done = fulfilled_quantities(fulfillments)
    return {
        item["line_id"]: item["quantity"] - done.get(item["line_id"], 0)
        for item in items
        if item["quantity"] > done.get(item["line_id"], 0)
    }


def status_of(items: list[dict[str, Any]], fulfillments: list[dict[str, Any]]) -> Status:
    """The status that the fulfilments imply (cancellation is recorded separately)."""
    if not any(fulfilled_quantities(fulfillments).values()):
        return Status.UNFULFILLED
    if remaining_quantities(items, fulfillments):
        return Status.PARTIALLY_FULFILLED
    return Status.FULFILLED


def fulfil_remaining(
    items: list[dict[str, Any]], fulfillments: list[dict[str, Any]], at: dt.datetime
) -> dict[str, Any]:
    """A fulfilment of every quantity not yet fulfilled."""
    lines = [
        {"line_id": line_id, "quantity": qty}
        for line_id, qty in remaining_quantities(items, fulfillments).items()
    ]
    return {
        "id": str(uuid_utils.uuid7()),
        "items": lines,
        "tracking": None,
        "created_at": iso_utc(at),
    }


def check_items_cover_fulfilments(
    items: list[dict[str, Any]], fulfillments: list[dict[str, Any]]
) -> None:
    """A replacement may not drop or shrink lines below what has already been fulfilled."""
    quantities = {item["line_id"]: item["quantity"] for item in items}
    for line_id, done in fulfilled_quantities(fulfillments).items():
        if quantities.get(line_id, 0) < done:
            raise InvalidTransition(
                f"Line {line_id!r} has {done} fulfilled; the new items must keep at least that"
            )
