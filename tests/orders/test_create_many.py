"""orders.service.create_many: set-based creation with one outcome per request."""

from __future__ import annotations

from fastapi import FastAPI

from ordergate.orders import service
from ordergate.orders.errors import OrderRefConflict
from ordergate.orders.model import validate_order
from ordergate.tenancy.auth import Principal
from tests import factories
from tests.conftest import Tenant


async def test_mixed_outcomes_in_one_call(
    app: FastAPI, tenant: Tenant, other_tenant: Tenant
) -> None:
    p, q = tenant.principal, other_tenant.principal
    stored = factories.order(ref="STORED")
    async with app.state.db.write() as conn:
        await service.create(conn, p, validate_order(stored))

    def req(principal: Principal, body: dict) -> service.NewOrder:
        return service.NewOrder(principal, validate_order(body))

    a = factories.order(ref="A")
    requests = [
        req(p, a),  # created
        req(p, stored),  # existing (stored before)
        req(p, {**stored, "tags": ["changed"]}),  # conflict with stored
        req(p, a),  # existing (earlier in this call)
        req(p, {**a, "tags": ["other"]}),  # conflict with the earlier one
        req(q, a),  # created: another organisation
        req(p, factories.order(ref="B")),  # created
    ]
    async with app.state.db.write() as conn:
        results = await service.create_many(conn, requests)
    kinds = [r.outcome if isinstance(r, service.Result) else "conflict" for r in results]
    assert kinds == [
        "created",
        "existing",
        "conflict",
        "existing",
        "conflict",
        "created",
        "created",
    ]
    assert results[3].order.id == results[0].order.id  # type: ignore[union-attr]
    conflict = results[4]
    assert isinstance(conflict, OrderRefConflict)
    assert conflict.existing_id == results[0].order.id  # type: ignore[union-attr]
    assert conflict.differences == ["/tags/0"]
    numbers = [results[i].order.number for i in (0, 6)]  # type: ignore[union-attr]
    assert numbers == [2, 3]
    assert results[5].order.number == 1  # type: ignore[union-attr]
