"""The order lifecycle: status from fulfilments, remaining quantities, allowed transitions."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest

from ordergate.orders.errors import InvalidTransition
from ordergate.orders.lifecycle import (
    TRANSITIONS,
    Status,
    check_items_cover_fulfilments,
    check_transition,
    fulfil_remaining,
    remaining_quantities,
    status_of,
)

AT = dt.datetime(2014, 12, 11, 8, 0, tzinfo=dt.UTC)

ALLOWED = [
    (Status.UNFULFILLED, Status.PARTIALLY_FULFILLED),
    (Status.UNFULFILLED, Status.FULFILLED),
    (Status.UNFULFILLED, Status.CANCELLED),
    (Status.PARTIALLY_FULFILLED, Status.PARTIALLY_FULFILLED),
    (Status.PARTIALLY_FULFILLED, Status.FULFILLED),
    (Status.PARTIALLY_FULFILLED, Status.CANCELLED),
]
REFUSED = [(a, b) for a in Status for b in Status if (a, b) not in ALLOWED]


def _items(**quantities: int) -> list[dict[str, Any]]:
    """Order items by line id: ``_items(A=2, B=1)``."""
    return [
        {"line_id": line_id, "sku": f"SKU-{line_id}", "quantity": q}
        for line_id, q in quantities.items()
    ]


def _fulfilment(**quantities: int) -> dict[str, Any]:
    return {
        "id": "f",
        "items": [{"line_id": line_id, "quantity": q} for line_id, q in quantities.items()],
        "tracking": None,
        "created_at": "2014-12-11T08:00:00Z",
    }


# --- status_of ------------------------------------------------------------------------------------


def test_order_without_fulfilments_is_unfulfilled() -> None:
    assert status_of(_items(A=2, B=1), []) is Status.UNFULFILLED


def test_order_with_some_quantity_fulfilled_is_partially_fulfilled() -> None:
    assert status_of(_items(A=2, B=1), [_fulfilment(A=1)]) is Status.PARTIALLY_FULFILLED


def test_order_with_one_line_of_two_fully_fulfilled_is_partially_fulfilled() -> None:
    assert status_of(_items(A=2, B=1), [_fulfilment(A=2)]) is Status.PARTIALLY_FULFILLED


def test_order_with_every_quantity_fulfilled_is_fulfilled() -> None:
    assert status_of(_items(A=2, B=1), [_fulfilment(A=2, B=1)]) is Status.FULFILLED


def test_quantities_add_up_across_fulfilments() -> None:
    fulfilments = [_fulfilment(A=1), _fulfilment(B=1), _fulfilment(A=1)]
    assert status_of(_items(A=2, B=1), fulfilments) is Status.FULFILLED


def test_status_values_are_the_spec_vocabulary() -> None:
    assert [s.value for s in Status] == [
        "unfulfilled",
        "partially_fulfilled",
        "fulfilled",
        "cancelled",
    ]


# --- remaining_quantities -------------------------------------------------------------------------


def test_everything_remains_without_fulfilments() -> None:
    assert remaining_quantities(_items(A=2, B=1), []) == {"A": 2, "B": 1}


def test_remaining_subtracts_fulfilled_quantities() -> None:
    assert remaining_quantities(_items(A=3, B=1), [_fulfilment(A=1), _fulfilment(A=1)]) == {
        "A": 1,
        "B": 1,
    }


def test_fully_fulfilled_lines_are_not_remaining() -> None:
    assert remaining_quantities(_items(A=2, B=1), [_fulfilment(B=1)]) == {"A": 2}


def test_nothing_remains_when_all_is_fulfilled() -> None:
    assert remaining_quantities(_items(A=2), [_fulfilment(A=2)]) == {}


def test_remaining_lines_follow_item_order() -> None:
    assert list(remaining_quantities(_items(C=1, A=1, B=1), [])) == ["C", "A", "B"]


# --- fulfil_remaining -----------------------------------------------------------------------------


def test_fulfil_remaining_covers_every_unfulfilled_quantity() -> None:
    fulfilment = fulfil_remaining(_items(A=3, B=1, C=2), [_fulfilment(A=1, B=1)], AT)
    assert fulfilment["items"] == [
        {"line_id": "A", "quantity": 2},
        {"line_id": "C", "quantity": 2},
    ]


def test_fulfil_remaining_leaves_the_order_fulfilled() -> None:
    items, done = _items(A=3, B=1), [_fulfilment(A=1)]
    fulfilment = fulfil_remaining(items, done, AT)
    assert status_of(items, [*done, fulfilment]) is Status.FULFILLED


def test_fulfil_remaining_has_a_uuid7_id() -> None:
    fulfilment = fulfil_remaining(_items(A=1), [], AT)
    assert uuid.UUID(fulfilment["id"]).version == 7


def test_fulfil_remaining_ids_are_unique() -> None:
    items = _items(A=1)
    assert fulfil_remaining(items, [], AT)["id"] != fulfil_remaining(items, [], AT)["id"]


def test_fulfil_remaining_has_no_tracking() -> None:
    assert fulfil_remaining(_items(A=1), [], AT)["tracking"] is None


def test_fulfil_remaining_records_its_time_in_utc() -> None:
    at = dt.datetime(2014, 12, 11, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert fulfil_remaining(_items(A=1), [], at)["created_at"] == "2014-12-11T08:30:00Z"


# --- check_transition -----------------------------------------------------------------------------


@pytest.mark.parametrize(("current", "new"), ALLOWED, ids=[f"{a}->{b}" for a, b in ALLOWED])
def test_allowed_transition_passes(current: Status, new: Status) -> None:
    check_transition(current, new)


@pytest.mark.parametrize(("current", "new"), REFUSED, ids=[f"{a}->{b}" for a, b in REFUSED])
def test_transition_the_lifecycle_does_not_allow_is_invalid_transition(
    current: Status, new: Status
) -> None:
    with pytest.raises(InvalidTransition):
        check_transition(current, new)


def test_invalid_transition_is_a_409_with_a_stable_code() -> None:
    with pytest.raises(InvalidTransition) as caught:
        check_transition(Status.CANCELLED, Status.FULFILLED)
    assert (caught.value.status, caught.value.code) == (409, "invalid_transition")


@pytest.mark.parametrize("final", [Status.FULFILLED, Status.CANCELLED])
def test_final_statuses_allow_no_transition(final: Status) -> None:
    assert TRANSITIONS[final] == frozenset()


def test_fulfilled_order_cannot_be_cancelled() -> None:
    with pytest.raises(InvalidTransition):
        check_transition(Status.FULFILLED, Status.CANCELLED)


def test_cancelled_order_cannot_be_fulfilled() -> None:
    with pytest.raises(InvalidTransition):
        check_transition(Status.CANCELLED, Status.PARTIALLY_FULFILLED)


# --- check_items_cover_fulfilments ----------------------------------------------------------------


def test_items_equal_to_what_is_fulfilled_are_accepted() -> None:
    check_items_cover_fulfilments(_items(A=2, B=1), [_fulfilment(A=2)])


def test_items_with_more_quantity_or_new_lines_are_accepted() -> None:
    check_items_cover_fulfilments(_items(A=5, C=1), [_fulfilment(A=2)])


def test_items_without_fulfilments_may_change_freely() -> None:
    check_items_cover_fulfilments(_items(Z=1), [])


def test_dropping_a_fulfilled_line_is_invalid_transition() -> None:
    with pytest.raises(InvalidTransition):
        check_items_cover_fulfilments(_items(B=1), [_fulfilment(A=1)])


def test_shrinking_a_line_below_its_fulfilled_quantity_is_invalid_transition() -> None:
    with pytest.raises(InvalidTransition):
        check_items_cover_fulfilments(_items(A=2), [_fulfilment(A=2), _fulfilment(A=1)])


def test_a_fulfilment_that_ships_nothing_leaves_the_order_unfulfilled() -> None:
    items = [{"line_id": "1", "quantity": 2}]
    empty = {"id": "f", "items": [], "tracking": None, "created_at": "2024-01-01T00:00:00Z"}
    zero = {**empty, "items": [{"line_id": "1", "quantity": 0}]}
    assert status_of(items, [empty]) is Status.UNFULFILLED
    assert status_of(items, [zero]) is Status.UNFULFILLED
