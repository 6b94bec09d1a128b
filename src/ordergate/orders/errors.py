"""Domain errors about orders (see the tree in ``ordergate.errors``).

Conflict (409)
├── OrderRefConflict        order_ref_conflict: same order_ref, different content
└── InvalidTransition       invalid_transition: the lifecycle does not allow the change
"""

from __future__ import annotations

from uuid import UUID

from ordergate.errors import Conflict, NotFound


class OrderNotFound(NotFound):
    code = "order_not_found"
    title = "Order not found"


class OrderRefConflict(Conflict):
    code = "order_ref_conflict"
    title = "An order with this order_ref already exists with different content"

    def __init__(self, order_ref: str, existing_id: UUID, differences: list[str]) -> None:
        super().__init__(
            f"Order {order_ref!r} already exists with different content; replace it with PUT "
            "on /v1/orders/by-ref/… or change it with PATCH",
            existing_id=str(existing_id),
            differences=differences,
        )
        self.existing_id = existing_id
        self.differences = differences


class InvalidTransition(Conflict):
    code = "invalid_transition"
    title = "The order's lifecycle does not allow this change"
