"""The intake coalescer: concurrent creates share statements and a commit, and still each
get their own outcome."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import event

from ordergate.intake.coalescer import CreateCoalescer
from ordergate.orders import service
from ordergate.orders.errors import OrderRefConflict
from ordergate.orders.model import validate_order
from tests import factories
from tests.conftest import Tenant


def _new(tenant: Tenant, **fields: Any) -> service.NewOrder:
    return service.NewOrder(tenant.principal, validate_order(factories.order(**fields)))


async def test_concurrent_creates_share_commits_and_keep_their_outcomes(
    app: FastAPI, tenant: Tenant
) -> None:
    coalescer = CreateCoalescer(app.state.db)
    commits = 0

    def count(_conn: Any) -> None:
        nonlocal commits
        commits += 1

    engine = app.state.db.write_engine.sync_engine
    event.listen(engine, "commit", count)
    try:
        same = _new(tenant, ref="SAME")
        requests = [_new(tenant) for _ in range(30)] + [same, same]
        different = _new(tenant, ref="SAME", tags=["different"])
        results = await asyncio.gather(
            *(coalescer.create(r) for r in [*requests, different]), return_exceptions=True
        )
    finally:
        event.remove(engine, "commit", count)
        await coalescer.close()
    outcomes = [r.outcome if isinstance(r, service.Result) else type(r) for r in results]
    assert outcomes == ["created"] * 31 + ["existing", OrderRefConflict]
    assert len({r.order.number for r in results[:31]}) == 31  # type: ignore[union-attr]
    assert commits < 10


async def test_an_unexpected_failure_fails_only_its_own_order(
    app: FastAPI, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = service.create_many

    async def fragile(conn: Any, requests: list[service.NewOrder]) -> Any:
        if any(r.order.order_ref == "POISON" for r in requests):
            raise RuntimeError("the database refused something")
        return await real(conn, requests)

    monkeypatch.setattr(service, "create_many", fragile)
    coalescer = CreateCoalescer(app.state.db)
    try:
        results = await asyncio.gather(
            *(coalescer.create(_new(tenant, ref=ref)) for ref in ("OK-1", "POISON", "OK-2")),
            return_exceptions=True,
        )
    finally:
        await coalescer.close()
    assert isinstance(results[0], service.Result)
    assert isinstance(results[1], RuntimeError)
    assert isinstance(results[2], service.Result)


async def test_a_cancelled_waiter_does_not_disturb_the_others(app: FastAPI, tenant: Tenant) -> None:
    coalescer = CreateCoalescer(app.state.db)
    try:
        first = asyncio.create_task(coalescer.create(_new(tenant)))
        gone = asyncio.create_task(coalescer.create(_new(tenant, ref="GONE")))
        last = asyncio.create_task(coalescer.create(_new(tenant)))
        await asyncio.sleep(0)
        gone.cancel()
        done = await asyncio.gather(first, last)
        assert [r.outcome for r in done] == ["created", "created"]
    finally:
        await coalescer.close()
