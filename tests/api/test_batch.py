"""POST /v1/orders/batch: every outcome, repeats inside a batch, atomic batches, limits."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from tests import factories
from tests.conftest import Tenant


async def _batch(
    client: httpx.AsyncClient, tenant: Tenant, orders: list[Any], **fields: Any
) -> httpx.Response:
    body = {"orders": orders, **fields}
    return await client.post("/v1/orders/batch", json=body, headers=tenant.headers)


async def _get_by_ref(client: httpx.AsyncClient, tenant: Tenant, ref: str) -> httpx.Response:
    return await client.get(f"/v1/orders/by-ref/{ref}", headers=tenant.headers)


async def test_a_mixed_create_batch_gives_every_outcome_in_input_order(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    stored = factories.order()
    stored_other = factories.order()
    for body in (stored, stored_other):
        r = await client.post("/v1/orders", json=body, headers=tenant.headers)
        assert r.status_code == 201
    stored_id = (await _get_by_ref(client, tenant, stored["order_ref"])).json()["id"]
    other_id = (await _get_by_ref(client, tenant, stored_other["order_ref"])).json()["id"]

    new = factories.order()
    repeated = factories.order()
    orders = [
        new,  # 0 created
        {**factories.order(), "items": [{"sku": "", "quantity": 0}]},  # 1 invalid
        stored,  # 2 duplicate of a stored order
        {**stored_other, "currency": "EUR"},  # 3 conflict with a stored order
        repeated,  # 4 created
        repeated,  # 5 duplicate of entry 4
        {**repeated, "currency": "EUR"},  # 6 conflict with entry 4
        "not an order",  # 7 invalid
    ]
    r = await _batch(client, tenant, orders)
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [(x["index"], x["outcome"]) for x in results] == [
        (0, "created"),
        (1, "invalid"),
        (2, "duplicate"),
        (3, "conflict"),
        (4, "created"),
        (5, "duplicate"),
        (6, "conflict"),
        (7, "invalid"),
    ]
    assert results[0]["id"] == (await _get_by_ref(client, tenant, new["order_ref"])).json()["id"]
    pointers = {(e["pointer"], e["code"]) for e in results[1]["errors"]}
    assert ("/items/0/sku", "too_short") in pointers or ("/items/0/sku", "required") in pointers
    assert any(p == "/items/0/quantity" for p, _ in pointers)
    assert "id" not in results[1]
    assert results[2]["id"] == stored_id
    assert results[3]["id"] == other_id
    assert ("/currency", "order_ref_conflict") in [
        (e["pointer"], e["code"]) for e in results[3]["errors"]
    ]
    assert results[5]["id"] == results[4]["id"]
    assert results[6]["id"] == results[4]["id"]
    assert results[6]["errors"][0]["code"] == "duplicate_order_ref"
    assert results[6]["errors"][0]["pointer"] == "/order_ref"
    assert results[7]["errors"][0]["pointer"] == ""

    # only the created orders changed anything, and the conflicting content was not stored
    assert (await _get_by_ref(client, tenant, stored_other["order_ref"])).json()["currency"] == (
        "GBP"
    )
    events = (await client.get("/v1/events", headers=tenant.headers)).json()["data"]
    assert [e["type"] for e in events].count("order.created") == 4  # 2 before, 2 in the batch

    # the whole request is one submission
    sid = r.headers["submission-id"]
    record = (await client.get(f"/v1/submissions/{sid}", headers=tenant.headers)).json()
    assert record["outcome"] == "batch"
    assert set(record["order_ids"]) == {results[i]["id"] for i in (0, 2, 3, 4)}
    assert {e["index"] for e in record["errors"]} == {1, 3, 6, 7}


async def test_upsert_creates_replaces_and_leaves_unchanged(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    kept, changed, fulfilled = factories.order(), factories.order(), factories.order()
    for body in (kept, changed, fulfilled):
        assert (await client.post("/v1/orders", json=body, headers=tenant.headers)).is_success
    done = (await _get_by_ref(client, tenant, fulfilled["order_ref"])).json()
    r = await client.post(f"/v1/orders/{done['id']}/fulfillments", json={}, headers=tenant.headers)
    assert r.status_code == 200, r.text

    new = factories.order()
    # drops the fulfilled line: the lifecycle refuses it
    smaller = {**fulfilled, "items": [factories.item(line_id="zz", sku="OTHER", unit_price="1")]}
    orders = [kept, {**changed, "currency": "EUR"}, new, smaller]
    r = await _batch(client, tenant, orders, mode="upsert")
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["outcome"] for x in results] == ["unchanged", "updated", "created", "conflict"]
    assert results[3]["id"] == done["id"]
    assert results[3]["errors"][0]["code"] == "invalid_transition"

    after = (await _get_by_ref(client, tenant, changed["order_ref"])).json()
    assert (after["currency"], after["version"]) == ("EUR", 2)
    assert (await _get_by_ref(client, tenant, kept["order_ref"])).json()["version"] == 1
    assert (await _get_by_ref(client, tenant, fulfilled["order_ref"])).json()["version"] == 2
    history = (await client.get(f"/v1/orders/{after['id']}/history", headers=tenant.headers)).json()
    assert [h["kind"] for h in history["data"]] == ["created", "replaced"]
    events = (await client.get("/v1/events", headers=tenant.headers)).json()["data"]
    mine = [e for e in events if e["order_id"] == after["id"]]
    assert [(e["type"], e["seq"]) for e in mine] == [("order.created", 1), ("order.updated", 2)]


@pytest.mark.parametrize("mode", ["create", "upsert"])
async def test_an_atomic_batch_with_a_failure_stores_nothing(
    client: httpx.AsyncClient, tenant: Tenant, mode: str
) -> None:
    good = factories.order()
    bad = {**factories.order(), "currency": "XXX"}
    also_bad = {**factories.order(), "items": []}
    r = await _batch(client, tenant, [good, bad, good, also_bad], atomic=True, mode=mode)
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["failed_indexes"] == [1, 3]
    assert {e["pointer"] for e in problem["errors"]} == {"/orders/1/currency", "/orders/3/items"}
    assert (await _get_by_ref(client, tenant, good["order_ref"])).status_code == 404


async def test_an_atomic_batch_with_a_conflict_rolls_back(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    stored = factories.order()
    assert (await client.post("/v1/orders", json=stored, headers=tenant.headers)).is_success
    fresh = factories.order()
    r = await _batch(client, tenant, [fresh, {**stored, "currency": "EUR"}], atomic=True)
    assert r.status_code == 422, r.text
    assert r.json()["failed_indexes"] == [1]
    assert {
        "pointer": "/orders/1/currency",
        "code": "order_ref_conflict",
        "detail": "Differs from the stored order with this order_ref",
    } in r.json()["errors"]
    assert (await _get_by_ref(client, tenant, fresh["order_ref"])).status_code == 404
    events = (await client.get("/v1/events", headers=tenant.headers)).json()["data"]
    assert len(events) == 1  # the stored order's only

    r = await _batch(client, tenant, [fresh, stored], atomic=True)  # a duplicate is no failure
    assert [x["outcome"] for x in r.json()["results"]] == ["created", "duplicate"]


@pytest.mark.parametrize(
    ("body", "pointer", "code"),
    [
        ({"orders": []}, "/orders", "too_few_items"),
        ({"orders": [{}] * 1001}, "/orders", "too_many_items"),
        ({"orders": [], "mode": "merge"}, "/mode", "invalid"),
        ({"orders": [{}], "atomic": "yes"}, "/atomic", "invalid_type"),
        ({"orders": [{}], "colour": "red"}, "/colour", "unknown_field"),
        ({}, "/orders", "required"),
    ],
)
async def test_a_bad_envelope_is_422_with_pointers(
    client: httpx.AsyncClient, tenant: Tenant, body: dict, pointer: str, code: str
) -> None:
    r = await client.post("/v1/orders/batch", json=body, headers=tenant.headers)
    assert r.status_code == 422, r.text
    assert (pointer, code) in [(e["pointer"], e["code"]) for e in r.json()["errors"]]


async def test_body_limits(client: httpx.AsyncClient, tenant: Tenant) -> None:
    # Bigger than the single-order limit (1 MiB) is fine, also with an Idempotency-Key ...
    orders = [factories.full_order() for _ in range(1000)]
    headers = {**tenant.headers, "Idempotency-Key": "big-batch"}
    r = await client.post("/v1/orders/batch", json={"orders": orders}, headers=headers)
    assert r.status_code == 200, r.text
    assert len(r.request.content) > 1024 * 1024
    assert {x["outcome"] for x in r.json()["results"]} == {"created"}
    again = await client.post("/v1/orders/batch", json={"orders": orders}, headers=headers)
    assert again.headers["idempotent-replayed"] == "true"
    # ... beyond the batch limit (10 MiB) is 413
    huge = b'{"orders": [' + b'"' + b"x" * (11 * 1024 * 1024) + b'"]}'
    r = await client.post(
        "/v1/orders/batch",
        content=huge,
        headers={**tenant.headers, "content-type": "application/json"},
    )
    assert r.status_code == 413


async def test_a_batch_of_1000_is_a_handful_of_statements(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    db = app.state.db
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    orders = [factories.order() for _ in range(1000)]
    engines = {db.write_engine.sync_engine, db.read_engine.sync_engine}
    for engine in engines:
        sa.event.listen(engine, "before_cursor_execute", count)
    try:
        r = await _batch(client, tenant, orders)
    finally:
        for engine in engines:
            sa.event.remove(engine, "before_cursor_execute", count)
    assert r.status_code == 200
    assert [x["outcome"] for x in r.json()["results"]] == ["created"] * 1000
    assert len(statements) <= 20, statements

    # upserting the same 1,000 with one change each: still a handful
    statements.clear()
    changed = [{**o, "currency": "EUR"} for o in orders]
    for engine in engines:
        sa.event.listen(engine, "before_cursor_execute", count)
    try:
        r = await _batch(client, tenant, changed, mode="upsert")
    finally:
        for engine in engines:
            sa.event.remove(engine, "before_cursor_execute", count)
    assert [x["outcome"] for x in r.json()["results"]] == ["updated"] * 1000
    assert len(statements) <= 20, statements
