"""NDJSON imports: streamed spooling, background runs, exact counts and line numbers, resume
after a crash, Idempotency-Key, limits, bounded memory, and the CLI."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from typer.testing import CliRunner

from ordergate import cli
from ordergate.app import create_app
from ordergate.intake import imports
from ordergate.intake.runner import ImportRunner
from ordergate.intake.tables import import_chunks
from ordergate.intake.tables import imports as imports_table
from ordergate.orders.tables import orders
from tests import factories
from tests.conftest import Tenant, make_settings, make_tenant

NDJSON = {"content-type": "application/x-ndjson"}
SMALL_CHUNKS = {"import_chunk_bytes": 1024}  # many chunks from a few dozen orders


def ndjson(*lines: Any) -> bytes:
    return b"".join(
        (line if isinstance(line, bytes) else orjson.dumps(line)) + b"\n" for line in lines
    )


@asynccontextmanager
async def api(
    database_url: str, **settings: Any
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient, Tenant]]:
    app = create_app(make_settings(database_url, **{**SMALL_CHUNKS, **settings}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield app, client, await make_tenant(app)


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[ImportRunner]:
    runner = ImportRunner(app.state.db, app.state.settings)
    task = asyncio.create_task(runner.run())
    try:
        yield runner
    finally:
        runner.stop()
        await task


async def finished(client: httpx.AsyncClient, tenant: Tenant, url: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        status = (await client.get(url, headers=tenant.headers)).json()
        if status["status"] in ("completed", "failed"):
            return status  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, status
        await asyncio.sleep(0.02)


async def stored_refs(app: FastAPI, tenant: Tenant) -> list[str]:
    async with app.state.db.read() as conn:
        rows = await conn.execute(
            sa.select(orders.c.order_ref).where(orders.c.organisation_id == tenant.org.id)
        )
        return sorted(r[0] for r in rows)


async def test_an_import_gives_exact_counts_and_line_numbers(own_database: str) -> None:
    good = [factories.order(ref=f"IMP-{i}") for i in range(40)]
    body = ndjson(
        *good[:10],
        b"{not json",  # line 11
        {**factories.order(ref="BAD-1"), "currency": "XXX"},  # line 12
        *good[10:20],
        b"",  # line 23: blank, skipped but counted in the numbering
        good[0],  # line 24: the same as line 1
        {**good[1], "currency": "EUR"},  # line 25: line 2's ref, other content
        *good[20:],
    )
    async with api(own_database) as (app, client, tenant):
        r = await client.post("/v1/imports", content=body, headers={**tenant.headers, **NDJSON})
        assert r.status_code == 202, r.text
        started = r.json()
        assert started["status_url"] == f"/v1/imports/{started['id']}"
        assert r.headers["location"] == started["status_url"]
        assert started["total"] == 44
        assert started["bytes"] == len(body)
        async with running(app):
            status = await finished(client, tenant, started["status_url"])
        assert status["status"] == "completed"
        counts = {k: status[k] for k in ("total", "processed", "created", "duplicates")}
        assert counts == {"total": 44, "processed": 44, "created": 40, "duplicates": 1}
        assert (status["conflicts"], status["invalid"], status["updated"]) == (1, 2, 0)
        assert [(e["line"], e["outcome"]) for e in status["errors"]] == [
            (11, "invalid"),
            (12, "invalid"),
            (25, "conflict"),
        ]
        assert status["errors"][0]["errors"][0]["code"] == "malformed_json"
        assert status["errors"][1]["errors"][0]["pointer"] == "/currency"
        assert await stored_refs(app, tenant) == sorted(o["order_ref"] for o in good)

        events = (await client.get("/v1/events?limit=1000", headers=tenant.headers)).json()
        types = [e["type"] for e in events["data"]]
        assert types.count("order.created") == 40
        assert types[-1] == "import.completed"
        assert events["data"][-1]["data"]["created"] == 40
        assert events["data"][-1]["order_id"] is None

        record = (
            await client.get(f"/v1/submissions/{started['id']}", headers=tenant.headers)
        ).json()
        assert (record["outcome"], record["status_code"], record["path"]) == (
            "import",
            202,
            "/v1/imports",
        )
        order = (
            await client.get(f"/v1/orders/by-ref/{good[0]['order_ref']}", headers=tenant.headers)
        ).json()
        assert order["submitted_via"] == "import"


async def test_upsert_applies_lines_in_order_across_chunks(own_database: str) -> None:
    base = factories.order(ref="UP-1")
    lines = [base, *(factories.order() for _ in range(30)), {**base, "currency": "EUR"}, base]
    async with api(own_database) as (app, client, tenant):
        for body, mode in (
            (ndjson(*lines), "upsert"),
            (ndjson(base, {**base, "currency": "USD"}), "upsert"),
        ):
            r = await client.post(
                f"/v1/imports?mode={mode}", content=body, headers={**tenant.headers, **NDJSON}
            )
            assert r.status_code == 202
            async with running(app):
                status = await finished(client, tenant, r.json()["status_url"])
            assert status["status"] == "completed"
        order = (await client.get("/v1/orders/by-ref/UP-1", headers=tenant.headers)).json()
    # first import: created, EUR replaced it, base replaced it back; second: base unchanged
    # (it is GBP again), then USD replaces it; both lines in one chunk, applied in order
    assert (order["currency"], order["version"]) == ("USD", 4)


async def test_an_import_that_crashes_mid_chunk_resumes_without_repeats(
    own_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = [factories.order(ref=f"RES-{i:03}") for i in range(60)]
    body = ndjson(*lines)
    async with api(own_database, import_lease_seconds=0.3) as (app, client, tenant):
        r = await client.post("/v1/imports", content=body, headers={**tenant.headers, **NDJSON})
        url = r.json()["status_url"]
        import_id = r.json()["id"]

        # A runner processes two chunks, then dies inside the third: its orders were written
        # but the transaction never committed.
        real_write = imports.write_lines
        calls = {"n": 0}

        async def dying_write(*args: Any, **kwargs: Any) -> Any:
            result = await real_write(*args, **kwargs)
            calls["n"] += 1
            if calls["n"] == 3:
                raise RuntimeError("killed")
            return result

        monkeypatch.setattr(imports, "write_lines", dying_write)
        runner = ImportRunner(app.state.db, app.state.settings)
        while await runner.run_one():  # the only import on this database
            if (await client.get(url, headers=tenant.headers)).json()["failure"]:
                break
        monkeypatch.setattr(imports, "write_lines", real_write)
        half = (await client.get(url, headers=tenant.headers)).json()
        assert half["status"] == "running"
        assert half["failure"] == "chunk 2: RuntimeError: killed"
        assert 0 < half["processed"] < 60
        assert len(await stored_refs(app, tenant)) == half["processed"]

        # The next runner resumes at the failed chunk, and finishes.
        async with running(app):
            status = await finished(client, tenant, url)
        assert (status["status"], status["processed"], status["created"]) == ("completed", 60, 60)
        assert status["errors"] == []
        assert await stored_refs(app, tenant) == [o["order_ref"] for o in lines]
        async with app.state.db.read() as conn:
            left = await conn.scalar(
                sa.select(sa.func.count()).where(import_chunks.c.import_id == uuid.UUID(import_id))
            )
        assert left == 0  # processed chunks are deleted


async def test_idempotency_key_replays_the_import(database_url: str) -> None:
    body = ndjson(factories.order(), factories.order())
    async with api(database_url) as (app, client, tenant):
        headers = {**tenant.headers, **NDJSON, "Idempotency-Key": "nightly-2026-11-23"}
        first = await client.post("/v1/imports", content=body, headers=headers)
        again = await client.post("/v1/imports", content=body, headers=headers)
        assert first.status_code == again.status_code == 202
        assert again.json()["id"] == first.json()["id"]
        assert again.headers["idempotent-replayed"] == "true"
        other = await client.post("/v1/imports", content=body + b"\n{}", headers=headers)
        assert other.status_code == 422
        assert other.json()["errors"][0]["code"] == "idempotency_key_reused"
        upsert = await client.post("/v1/imports?mode=upsert", content=body, headers=headers)
        assert upsert.status_code == 422  # another mode is another request


async def test_a_line_longer_than_one_order_may_be_is_413(database_url: str) -> None:
    long_line = orjson.dumps({**factories.order(), "message": {"text": "x" * 3000}})
    async with api(database_url, max_body_bytes=2048) as (app, client, tenant):
        body = ndjson(factories.order(), long_line, factories.order())
        r = await client.post("/v1/imports", content=body, headers={**tenant.headers, **NDJSON})
        assert r.status_code == 413
        assert "Line 2 is longer than 2048 bytes" in r.json()["detail"]


async def test_the_runner_leaves_cli_imports_alone(own_database: str) -> None:
    async with api(own_database) as (app, client, tenant):
        async with app.state.db.write() as conn:
            cli_import = await imports.create(
                conn, tenant.principal, mode="create", source="cli", status="running"
            )
        runner = ImportRunner(app.state.db, app.state.settings)
        assert not await runner.run_one(), "the CLI import is left alone"
        async with app.state.db.read() as conn:
            row = await imports.get_row(conn, tenant.org.id, cli_import)
        assert (row.status, row.lease_token, row.next_chunk) == ("running", None, 0)


async def test_wrong_type_and_too_large_bodies_leave_nothing(database_url: str) -> None:
    async with api(database_url, import_max_bytes=4096) as (app, client, tenant):
        r = await client.post(
            "/v1/imports", content=ndjson(factories.order()), headers=tenant.headers
        )
        assert r.status_code == 415

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(60):  # streamed: no Content-Length to refuse up front
                yield ndjson(factories.order())

        r = await client.post("/v1/imports", content=chunks(), headers={**tenant.headers, **NDJSON})
        assert r.status_code == 413
        async with app.state.db.read() as conn:
            count = await conn.scalar(
                sa.select(sa.func.count()).where(imports_table.c.organisation_id == tenant.org.id)
            )
        assert count == 0
        r = await client.get(
            "/v1/imports/01a209cf-0000-7000-8000-000000000000", headers=tenant.headers
        )
        assert r.status_code == 404
        assert r.json()["code"] == "import_not_found"


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def test_a_50_mib_upload_keeps_memory_flat(database_url: str) -> None:
    line = orjson.dumps(factories.order(ref="MEM-{}")) + b"\n"
    target = 50 * 1024 * 1024

    async def body() -> AsyncIterator[bytes]:
        sent = 0
        i = 0
        while sent < target:
            block = b"".join(line.replace(b"MEM-{}", f"MEM-{i + j}".encode()) for j in range(500))
            i += 500
            sent += len(block)
            yield block

    async with api(database_url, import_chunk_bytes=1024 * 1024) as (app, client, tenant):
        peak = before = _rss_bytes()
        sampling = True

        async def sample() -> None:
            nonlocal peak
            while sampling:
                peak = max(peak, _rss_bytes())
                await asyncio.sleep(0.005)

        sampler = asyncio.create_task(sample())
        r = await client.post("/v1/imports", content=body(), headers={**tenant.headers, **NDJSON})
        sampling = False
        await sampler
        assert r.status_code == 202, r.text
        assert r.json()["bytes"] >= target
    growth = peak - before
    assert growth < 25 * 1024 * 1024, f"RSS grew by {growth / 2**20:.1f} MiB for a 50 MiB body"


def _cli(args: list[str], database_url: str, stdin: bytes | None = None) -> Any:
    env = {"ORDERGATE_DATABASE_URL": database_url, "ORDERGATE_IMPORT_CHUNK_BYTES": "1024"}
    return CliRunner().invoke(cli.app, args, env=env, input=stdin)


async def test_the_cli_imports_with_a_summary_and_exit_codes(
    database_url: str, tmp_path: Path
) -> None:
    async with api(database_url) as (app, client, tenant):
        trkref = tenant.org.trkref
        good = tmp_path / "good.ndjson"
        good.write_bytes(ndjson(*(factories.order() for _ in range(25))))
        result = await asyncio.to_thread(_cli, ["import", str(good), "--org", trkref], database_url)
        assert result.exit_code == 0, result.output
        assert "created" in result.stdout
        assert "25" in result.stdout
        assert gc.get_freeze_count() == 0  # kept out of the collector only while it ran

        mixed = ndjson(factories.order(), b"[1, 2", {**factories.order(), "items": []})
        result = await asyncio.to_thread(
            _cli, ["import", "-", "--org", trkref, "--json"], database_url, mixed
        )
        assert result.exit_code == 1
        summary = json.loads(result.stdout)
        assert (summary["created"], summary["invalid"], summary["source"]) == (1, 2, "cli")
        assert [e["line"] for e in summary["errors"]] == [2, 3]
        got = (await client.get(f"/v1/imports/{summary['id']}", headers=tenant.headers)).json()
        assert got["status"] == "completed"
        record = (
            await client.get(f"/v1/submissions/{summary['id']}", headers=tenant.headers)
        ).json()
        assert (record["dialect"], record["outcome"]) == ("cli", "import")

        result = await asyncio.to_thread(_cli, ["import", str(good), "--org", "NOPE"], database_url)
        assert result.exit_code == 1
        result = await asyncio.to_thread(
            _cli, ["import", str(tmp_path / "missing"), "--org", trkref], database_url
        )
        assert result.exit_code == 1


async def test_a_validation_process_keeps_its_start_up_out_of_the_collector() -> None:
    try:
        assert await imports.prepare_elsewhere(b"", 1, 1) == []
        assert imports._pool is not None
        frozen = await asyncio.wrap_future(imports._pool.submit(gc.get_freeze_count))
        assert frozen > 10_000  # the modules, classes and schemas of ordergate and its libraries
    finally:
        imports.shutdown_pool()


def test_lines_are_split_on_newlines_and_numbered_from_one() -> None:
    data = b'{"a": 1}\r\n\n  \n{"b": 2}'
    assert list(imports.split_lines(data, 7)) == [(7, b'{"a": 1}'), (10, b'{"b": 2}')]


async def test_an_import_whose_chunk_keeps_failing_ends_failed(
    own_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with api(own_database) as (app, client, tenant):
        r = await client.post(
            "/v1/imports",
            content=ndjson(*(factories.order() for _ in range(10))),
            headers={**tenant.headers, **NDJSON},
        )
        url = r.json()["status_url"]

        async def broken(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("the database is on fire")

        monkeypatch.setattr(imports, "write_lines", broken)
        async with running(app):
            status = await finished(client, tenant, url)
        assert status["status"] == "failed"
        assert status["failure"] == "chunk 0: RuntimeError: the database is on fire"
        assert status["processed"] == 0
        assert await stored_refs(app, tenant) == []
