"""The bulk-import scenario: ``ordergate import`` of an N-order NDJSON file, on PostgreSQL and
SQLite, beside a raw COPY of N orders of the same shape into the same tables (the limit: no
parsing, no validation, no history or events, indexes built once at the end).

The file holds the benchmark's varied ~2 KB orders (``bench.orders``), each with its own
order_ref, and is generated once into ``bench/.cache``. Rows report orders per second of the
import's own processing (the summary's ``seconds``: from the first line read to the last
chunk committed), with workers=1 and connections=0 so that ``x base`` compares each engine
with the raw COPY.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

from bench import orders, seed, servers
from bench.report import Row

IMPORT_DB = "ordergate_bench_import"
COPY_DB = "ordergate_bench_copy"


def ndjson_file(count: int) -> Path:
    path = servers.CACHE / f"import-{count}.ndjson"
    if path.exists():
        return path
    templates = orders.templates(1_000)
    partial = path.with_suffix(".partial")
    with partial.open("wb") as f:
        for i in range(count):
            f.write(orders.with_ref(templates[i % len(templates)], f"BI-{i}") + b"\n")
    partial.rename(path)
    return path


def _row(engine: str, count: int, seconds: float) -> Row:
    return Row(
        scenario="import",
        engine=engine,
        workers=1,
        connections=0,
        orders_per_s=round(count / seconds, 1),
        p50_ms=0.0,
        p99_ms=0.0,
        errors=0,
        requests=count,
        seconds=round(seconds, 3),
    )


def _import(database_url: str, path: Path, trkref: str) -> dict[str, Any]:
    servers.cli_json(database_url, "org", "create", trkref)
    out = subprocess.run(
        [str(servers.BIN / "ordergate"), "import", str(path), "--org", trkref, "--json"],
        env={**os.environ, **servers.ordergate_env(database_url)},
        cwd=servers.ROOT,
        capture_output=True,
        text=True,
        timeout=4 * 3600,
    )
    if out.returncode != 0:
        raise SystemExit(f"ordergate import failed ({out.returncode}): {out.stderr[-2000:]}")
    return json.loads(out.stdout)  # type: ignore[no-any-return]


async def _recreate(admin_dsn: str, database: str) -> str:
    import asyncpg

    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{database}"')
    finally:
        await conn.close()
    return admin_dsn.rsplit("/", 1)[0] + "/" + database


def run(admin_dsn: str, count: int) -> list[Row]:
    print(f"\n== import: {count:,} orders from NDJSON", flush=True)
    path = ndjson_file(count)
    rows: list[Row] = []

    dsn = asyncio.run(_recreate(admin_dsn, COPY_DB))
    url = "postgresql+asyncpg://" + dsn.split("://", 1)[1]
    org = servers.cli_json(url, "org", "create", "BENCH-COPY")
    began = time.monotonic()
    asyncio.run(seed._copy(dsn, uuid.UUID(org["id"]), count))
    rows.append(_row("baseline", count, time.monotonic() - began))
    print(f"   raw COPY          {rows[-1].orders_per_s:>10,.0f} orders/s", flush=True)

    dsn = asyncio.run(_recreate(admin_dsn, IMPORT_DB))
    summary = _import("postgresql+asyncpg://" + dsn.split("://", 1)[1], path, "BENCH-IMPORT")
    _check(summary, count)
    rows.append(_row("postgresql", count, summary["seconds"]))
    print(f"   import postgresql {rows[-1].orders_per_s:>10,.0f} orders/s", flush=True)

    sqlite_file = servers.CACHE / "import.db"
    for leftover in sqlite_file.parent.glob(sqlite_file.name + "*"):
        leftover.unlink()
    summary = _import(f"sqlite+aiosqlite:///{sqlite_file}", path, "BENCH-IMPORT")
    _check(summary, count)
    rows.append(_row("sqlite", count, summary["seconds"]))
    print(f"   import sqlite     {rows[-1].orders_per_s:>10,.0f} orders/s", flush=True)
    return rows


def _check(summary: dict[str, Any], count: int) -> None:
    if summary["created"] != count or summary["processed"] != count:
        raise SystemExit(f"import stored {summary['created']} of {count} orders: {summary}")
