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
import threading
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


class _Meter:
    """CPU seconds of a process tree and of one database's PostgreSQL backends, sampled from
    /proc every 0.2 s while a run lasts (the last sample of a process counts: at most 0.2 s of
    a process that exits is missed). Split three ways: the root process (the import's writer,
    or the COPY), its child processes (the import's validation processes), PostgreSQL."""

    def __init__(self, root: int, database: str | None) -> None:
        self.root, self.database = root, database
        self.seen: dict[str, dict[int, float]] = {"writer": {}, "children": {}, "postgresql": {}}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _children(self) -> list[int]:
        out, frontier = [], {self.root}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid in frontier:
                out.append(int(stat.parent.name))
        return out

    def _sample(self) -> None:
        backends = servers.pg_backends(self.database)[0] if self.database else []
        for part, pids in (
            ("writer", [self.root]),
            ("children", self._children()),
            ("postgresql", backends),
        ):
            self.seen[part].update(servers.cpu_seconds(pids))

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(0.2)

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self._thread.join()
        return {part: sum(cpu.values()) for part, cpu in self.seen.items()}


def _metered(row: Row, cpu: dict[str, float], before: dict[str, float] | None = None) -> Row:
    before = before or {}
    spent = {k: v - before.get(k, 0.0) for k, v in cpu.items()}
    per_order = {k: 1000 * v / row.requests for k, v in spent.items()}
    row.app_cpu_ms = round(per_order["writer"] + per_order["children"], 3)
    row.db_cpu_ms = round(per_order["postgresql"], 3)
    print(
        f"   {row.engine:<17} cpu ms/order: writer {per_order['writer']:.3f}  "
        f"validation {per_order['children']:.3f}  postgresql {per_order['postgresql']:.3f}",
        flush=True,
    )
    return row


def _import(
    database_url: str, path: Path, trkref: str, database: str | None
) -> tuple[dict[str, Any], dict[str, float]]:
    servers.cli_json(database_url, "org", "create", trkref)
    proc = subprocess.Popen(
        [str(servers.BIN / "ordergate"), "import", str(path), "--org", trkref, "--json"],
        env={**os.environ, **servers.ordergate_env(database_url)},
        cwd=servers.ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    meter = _Meter(proc.pid, database)
    try:
        stdout, stderr = proc.communicate(timeout=4 * 3600)
    finally:
        cpu = meter.stop()
        if proc.poll() is None:
            proc.kill()
    if proc.returncode != 0:
        raise SystemExit(f"ordergate import failed ({proc.returncode}): {stderr[-2000:]}")
    return json.loads(stdout), cpu


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
    meter = _Meter(os.getpid(), COPY_DB)
    before = sum(servers.cpu_seconds([os.getpid()]).values())
    began = time.monotonic()
    asyncio.run(seed._copy(dsn, uuid.UUID(org["id"]), count))
    rows.append(_row("baseline", count, time.monotonic() - began))
    print(f"   raw COPY          {rows[-1].orders_per_s:>10,.0f} orders/s", flush=True)
    # This process's own CPU (the COPY's Python side); the harness's other children are not
    # part of it.
    cpu = meter.stop()
    cpu["children"] = 0.0
    _metered(rows[-1], cpu, {"writer": before})

    dsn = asyncio.run(_recreate(admin_dsn, IMPORT_DB))
    url = "postgresql+asyncpg://" + dsn.split("://", 1)[1]
    summary, cpu = _import(url, path, "BENCH-IMPORT", IMPORT_DB)
    _check(summary, count)
    rows.append(_row("postgresql", count, summary["seconds"]))
    print(f"   import postgresql {rows[-1].orders_per_s:>10,.0f} orders/s", flush=True)
    _metered(rows[-1], cpu)

    sqlite_file = servers.CACHE / "import.db"
    for leftover in sqlite_file.parent.glob(sqlite_file.name + "*"):
        leftover.unlink()
    summary, cpu = _import(f"sqlite+aiosqlite:///{sqlite_file}", path, "BENCH-IMPORT", None)
    _check(summary, count)
    rows.append(_row("sqlite", count, summary["seconds"]))
    print(f"   import sqlite     {rows[-1].orders_per_s:>10,.0f} orders/s", flush=True)
    _metered(rows[-1], cpu)
    return rows


def _check(summary: dict[str, Any], count: int) -> None:
    if summary["created"] != count or summary["processed"] != count:
        raise SystemExit(f"import stored {summary['created']} of {count} orders: {summary}")
