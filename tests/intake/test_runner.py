"""The import runner's failure and stop paths, in process (the real processes are in
tests/system/test_shutdown.py)."""

from __future__ import annotations

import asyncio
from concurrent.futures.process import BrokenProcessPool
from typing import Any
from uuid import UUID

import httpx
import orjson
import sqlalchemy as sa

from ordergate.app import create_app
from ordergate.intake import imports
from ordergate.intake.runner import ImportRunner
from ordergate.intake.tables import imports as imports_table
from tests import factories
from tests.conftest import make_settings, make_tenant


async def spool_30_orders(app: Any) -> UUID:
    """POST /v1/imports of 30 orders for a new organisation; the queued import's id."""
    tenant = await make_tenant(app)
    body = b"".join(orjson.dumps(factories.order()) + b"\n" for _ in range(30))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        r = await client.post(
            "/v1/imports",
            content=body,
            headers={**tenant.headers, "Content-Type": "application/x-ndjson"},
        )
    assert r.status_code == 202, r.text
    return UUID(r.json()["id"])


async def test_a_chunk_that_cannot_be_prepared_gives_the_import_back(own_database: str) -> None:
    app = create_app(make_settings(own_database, import_chunk_bytes=1024, import_processes=0))
    async with app.router.lifespan_context(app):
        import_id = await spool_30_orders(app)

        async def row() -> Any:
            async with app.state.db.read() as conn:
                return (
                    await conn.execute(
                        sa.select(imports_table).where(imports_table.c.id == import_id)
                    )
                ).one()

        runner = ImportRunner(app.state.db, app.state.settings)
        prepare = runner._prepare
        calls = 0

        async def dies_once(claimed: Any, seq: int) -> imports.Prepared:
            nonlocal calls
            calls += 1
            if calls == 2:  # chunk 1, read while chunk 0 is written
                raise BrokenProcessPool("a validation process died")
            return await prepare(claimed, seq)

        runner._prepare = dies_once  # type: ignore[method-assign]
        assert await runner.run_one()
        failed = await row()
        assert failed.chunks > 2
        assert (failed.status, failed.next_chunk, failed.failures) == ("running", 1, 1)
        assert failed.lease_token is None, "given back, not left until the lease expires"
        assert "BrokenProcessPool" in failed.failure

        assert await runner.run_one()  # claimed again at once, resumed at chunk 1
        done = await row()
        assert (done.status, done.created, done.failures) == ("completed", 30, 0)


async def test_the_runner_keeps_a_chunk_ahead_for_each_validation_process(
    own_database: str, monkeypatch: Any
) -> None:
    app = create_app(make_settings(own_database, import_chunk_bytes=1024, import_processes=2))
    async with app.router.lifespan_context(app):
        import_id = await spool_30_orders(app)

        real = imports.prepare_elsewhere
        in_flight = peak = 0

        async def slow_validation(data: bytes, first_line: int, processes: int) -> Any:
            nonlocal in_flight, peak
            assert processes == 2
            in_flight += 1
            peak = max(peak, in_flight)
            try:
                await asyncio.sleep(0.02)  # a validation process at work
                return await real(data, first_line, 0)
            finally:
                in_flight -= 1

        monkeypatch.setattr(imports, "prepare_elsewhere", slow_validation)
        runner = ImportRunner(app.state.db, app.state.settings)
        assert await runner.run_one()
        assert peak == 2, "both validation processes kept busy"
        async with app.state.db.read() as conn:
            done = (
                await conn.execute(sa.select(imports_table).where(imports_table.c.id == import_id))
            ).one()
        assert (done.status, done.created, done.chunks > 2) == ("completed", 30, True)
