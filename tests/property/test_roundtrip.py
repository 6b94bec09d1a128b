"""Any valid canonical order round-trips through the API and the store unchanged: what POST
answers is what GET (by id and by ref) answers, its canonical fields are exactly what was sent
(the orders are generated in normal form), and sending them back changes nothing. On SQLite
and PostgreSQL."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import quote

import httpx
import orjson
from hypothesis import HealthCheck, given, settings

from ordergate.orders.model import Order
from tests.conftest import Tenant
from tests.property.strategies import canonical_orders

SERVER_FIELDS = {
    "id",
    "number",
    "status",
    "cancellation",
    "fulfillments",
    "created_at",
    "updated_at",
    "version",
    "submitted_via",
}


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    # the client and the tenant are shared by the examples: each uses a new order_ref
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(order=canonical_orders())
async def test_a_valid_order_reads_back_exactly_as_sent(
    client: httpx.AsyncClient, tenant: Tenant, order: dict[str, Any]
) -> None:
    order = {**order, "order_ref": f"{secrets.token_hex(4)}-{order['order_ref']}"}
    path = "/v1/orders/by-ref/" + quote(order["order_ref"], safe="")
    headers = {**tenant.headers, "Content-Type": "application/json"}
    created = await client.post("/v1/orders", content=orjson.dumps(order), headers=headers)
    assert created.status_code == 201, created.text
    doc = created.json()
    assert {k: v for k, v in doc.items() if k not in SERVER_FIELDS} == order
    assert set(doc) == SERVER_FIELDS | set(Order.model_fields)

    by_id = await client.get(f"/v1/orders/{doc['id']}", headers=tenant.headers)
    by_ref = await client.get(path, headers=tenant.headers)
    assert by_id.json() == doc
    assert by_ref.json() == doc

    again = await client.put(path, content=orjson.dumps(order), headers=headers)
    assert again.status_code == 200, again.text
    assert again.json() == doc  # unchanged: same version, same times
