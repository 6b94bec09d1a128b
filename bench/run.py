"""``make bench``: ordergate's throughput and latency, beside the limits of this machine.

Scenarios, each in one run and side by side (docs/performance.md says how to read them):

1. intake: ``POST /v1/orders`` with varied ~2 KB orders, ordergate on PostgreSQL and on
   SQLite, against the raw-asyncpg baseline (bench/baseline.py) and the HTTP ceiling;
2. read path: ``GET /v1/orders/{id}``, the first list page and deep cursor pages over a
   seeded PostgreSQL database of 1,000,000 orders, ordergate against the baseline;
3. validation: ``parse_json`` + ``validate_order`` in process.

Every HTTP point runs wrk for a fixed time on loopback, at each worker count and number of
connections; ``ratio_to_baseline`` divides by the baseline's figure at the same point, which
keeps the comparison meaningful on a busy or slower machine. Settings come from ``BENCH_*``
environment variables (see :class:`Config`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import os
import platform
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import orjson

from bench import imports, loadgen, orders, profile, report, seed, servers, validation
from bench.report import Row

RESULTS = servers.ROOT / "bench" / "results"
INTAKE_DB = "ordergate_bench"
READ_DB = "ordergate_bench_read"


def _ints(name: str, default: str) -> tuple[int, ...]:
    return tuple(int(x) for x in os.environ.get(name, default).split(",") if x.strip())


_CUSTOM = (
    "BENCH_DURATION",
    "BENCH_WARMUP",
    "BENCH_WORKERS",
    "BENCH_CONNECTIONS",
    "BENCH_READ_CONNECTIONS",
    "BENCH_SEED_ORDERS",
    "BENCH_IMPORT_ORDERS",
    "BENCH_SCENARIOS",
)


@dataclasses.dataclass(frozen=True, slots=True)
class Config:
    quick: bool
    duration: float  # seconds measured per point
    warmup: float  # seconds of unmeasured load before each point
    workers: tuple[int, ...]
    connections: tuple[int, ...]  # intake
    read_connections: tuple[int, ...]
    seed_orders: int
    import_orders: int
    scenarios: frozenset[str]
    profile_seconds: float  # 0: no profile
    pg_admin_dsn: str

    @classmethod
    def from_env(cls) -> Config:
        quick = os.environ.get("BENCH_QUICK", "") not in ("", "0")
        env = os.environ.get
        return cls(
            quick=quick,
            duration=float(env("BENCH_DURATION", "5" if quick else "10")),
            warmup=float(env("BENCH_WARMUP", "1" if quick else "2")),
            workers=_ints("BENCH_WORKERS", "2" if quick else "1,2"),
            connections=_ints("BENCH_CONNECTIONS", "64" if quick else "1,16,64"),
            read_connections=_ints("BENCH_READ_CONNECTIONS", "64" if quick else "1,64"),
            seed_orders=int(env("BENCH_SEED_ORDERS", "1000000")),
            import_orders=int(env("BENCH_IMPORT_ORDERS", "20000" if quick else "1000000")),
            scenarios=frozenset(env("BENCH_SCENARIOS", "validation,intake,read,import").split(",")),
            profile_seconds=float(env("BENCH_PROFILE", "0") or 0),
            pg_admin_dsn=env("BENCH_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"),
        )

    @property
    def mode(self) -> str:
        """``full`` or ``quick`` as defined here; ``custom`` when any setting was changed."""
        if any(os.environ.get(name) for name in _CUSTOM):
            return "custom"
        return "quick" if self.quick else "full"

    def dsn(self, database: str) -> str:
        return self.pg_admin_dsn.rsplit("/", 1)[0] + "/" + database

    def url(self, database: str) -> str:
        return "postgresql+asyncpg://" + self.dsn(database).split("://", 1)[1]


def _git(*args: str) -> str:
    out = subprocess.run(["git", *args], cwd=servers.ROOT, capture_output=True, text=True)
    return out.stdout.strip()


async def _pg_facts(cfg: Config) -> dict[str, Any]:
    conn = await asyncpg.connect(cfg.pg_admin_dsn)
    try:
        return {
            "postgresql": await conn.fetchval("SHOW server_version"),
            "synchronous_commit": await conn.fetchval("SHOW synchronous_commit"),
            "fsync": await conn.fetchval("SHOW fsync"),
            "shared_buffers": await conn.fetchval("SHOW shared_buffers"),
        }
    finally:
        await conn.close()


def _meta(cfg: Config) -> dict[str, Any]:
    cpu = next(
        (
            x.split(":", 1)[1].strip()
            for x in Path("/proc/cpuinfo").read_text().splitlines()
            if x.startswith("model name")
        ),
        platform.processor(),
    )
    pg = asyncio.run(_pg_facts(cfg))
    if pg["synchronous_commit"] != "on" or pg["fsync"] != "on":
        print("!! PostgreSQL commits are not durable here: the targets assume they are")
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "git_sha": _git("rev-parse", "--short", "HEAD"),
        "git_dirty": bool(_git("status", "--porcelain", "--", "src")),
        "mode": cfg.mode,
        "config": {
            k: sorted(v) if isinstance(v, frozenset) else v
            for k, v in dataclasses.asdict(cfg).items()
            if k != "pg_admin_dsn"
        },
        "machine": {"cpus": os.cpu_count(), "cpu": cpu, "python": platform.python_version()},
        "durability": {**pg, "sqlite_synchronous": "FULL (set by ordergate)"},
        "load_generator": loadgen.version() + " (1 thread, Lua script bench/wrk.lua)",
        "loadavg_at_start": os.getloadavg(),
    }


# --- measuring one point -------------------------------------------------------------------


def _measure(
    cfg: Config,
    url: str,
    args: Callable[[str], list[str]],
    *,
    scenario: str,
    engine: str,
    workers: int,
    conns: int,
    tag: str,
    check: Callable[[str, int, int], str] | None = None,
    meter: servers.CpuMeter | None = None,
) -> Row:
    """Warm up, then measure one point; ``args(prefix)`` gives wrk's script arguments
    (``prefix`` keeps this point's order refs apart); ``check`` compares the database."""
    if cfg.warmup > 0:
        loadgen.run(url, args(f"{tag}w"), connections=conns, seconds=cfg.warmup)
    if meter is not None:
        meter.start()
    load = loadgen.run(url, args(tag), connections=conns, seconds=cfg.duration)
    app_cpu, db_cpu, sessions = meter.stop() if meter is not None else (0.0, 0.0, 0)
    row = Row(
        scenario=scenario,
        engine=engine,
        workers=workers,
        connections=conns,
        orders_per_s=round(load.per_second, 1),
        p50_ms=round(load.p50_ms, 3),
        p99_ms=round(load.p99_ms, 3),
        errors=load.errors,
        requests=load.requests,
        seconds=round(load.seconds, 2),
    )
    if meter is not None and load.ok:
        row.app_cpu_ms = round(1000 * app_cpu / load.ok, 3)
        row.db_cpu_ms = round(1000 * db_cpu / load.ok, 3) if meter.database else None
        row.db_sessions_ended = sessions if meter.database else None
    if check is not None:
        row.db_check = check(tag, load.ok, conns)
    print(
        f"   {scenario:<16} {engine:<13} workers={workers} conns={conns:<3} "
        f"{row.orders_per_s:>9,.0f}/s  p50 {row.p50_ms:7.2f} ms  p99 {row.p99_ms:8.2f} ms  "
        f"errors {row.errors}  cpu/op {row.app_cpu_ms or 0:.2f}+{row.db_cpu_ms or 0:.2f} ms  "
        f"{'' if row.db_sessions_ended is None else f'sessions ended {row.db_sessions_ended}  '}"
        f"{row.db_check or ''}",
        flush=True,
    )
    return row


def _verdict(found: int, ok: int, in_flight: int) -> str:
    # wrk stops at the deadline with up to one request per connection in flight: those may
    # have committed without wrk counting their answer.
    status = "ok" if ok <= found <= ok + in_flight else "MISMATCH"
    return f"{status}: {found} stored / {ok} 2xx"


# --- intake --------------------------------------------------------------------------------


async def _recreate(cfg: Config, database: str) -> None:
    conn = await asyncpg.connect(cfg.pg_admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{database}"')
    finally:
        await conn.close()


def _pg_count(cfg: Config, database: str) -> Callable[[str, int, int], str]:
    def check(prefix: str, ok: int, in_flight: int) -> str:
        async def count() -> int:
            conn = await asyncpg.connect(cfg.dsn(database))
            try:
                n = await conn.fetchval(
                    "SELECT count(*) FROM orders WHERE order_ref LIKE $1", prefix + "-%"
                )
                return int(n)
            finally:
                await conn.close()

        return _verdict(asyncio.run(count()), ok, in_flight)

    return check


def _sqlite_count(path: Path) -> Callable[[str, int, int], str]:
    def check(prefix: str, ok: int, in_flight: int) -> str:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30) as conn:
            (n,) = conn.execute(
                "SELECT count(*) FROM orders WHERE order_ref LIKE ?", (prefix + "-%",)
            ).fetchone()
        return _verdict(n, ok, in_flight)

    return check


def run_intake(cfg: Config, run_id: str) -> list[Row]:
    print("== intake: POST /v1/orders", flush=True)
    templates = servers.CACHE / "templates.ndjson"
    templates.write_bytes(b"\n".join(orders.templates(1_000)) + b"\n")

    asyncio.run(_recreate(cfg, INTAKE_DB))
    pg_url = cfg.url(INTAKE_DB)
    _, pg_token = servers.create_org_and_key(pg_url, "BENCH")
    base_org, base_token = servers.create_org_and_key(pg_url, "BENCH-BASELINE")
    sqlite_path = servers.CACHE / "intake.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{sqlite_path}{suffix}").unlink(missing_ok=True)
    sqlite_url = f"sqlite+aiosqlite:///{sqlite_path}"
    _, sqlite_token = servers.create_org_and_key(sqlite_url, "BENCH")

    # Per worker count: the baseline server (ceiling and baseline), then ordergate on each
    # engine, every connection count on one server start; measured close together in time so
    # that the ratios compare like with like.
    plan = [
        ("baseline", "http-ceiling", base_token, "/constant", None, None),
        ("baseline", "baseline", base_token, "/v1/orders", INTAKE_DB, _pg_count(cfg, INTAKE_DB)),
        ("postgresql", "postgresql", pg_token, "/v1/orders", INTAKE_DB, _pg_count(cfg, INTAKE_DB)),
        ("sqlite", "sqlite", sqlite_token, "/v1/orders", None, _sqlite_count(sqlite_path)),
    ]
    rows = []
    for w in cfg.workers:
        for server_kind in ("baseline", "postgresql", "sqlite"):
            if server_kind == "baseline":
                server = servers.baseline(f"baseline-w{w}", cfg.dsn(INTAKE_DB), base_org, w)
            else:
                url = pg_url if server_kind == "postgresql" else sqlite_url
                server = servers.ordergate(f"{server_kind}-w{w}", url, w)
            with servers.running(server) as s:
                for c in cfg.connections:
                    for kind, engine, token, path, database, check in plan:
                        if kind != server_kind:
                            continue
                        row = _measure(
                            cfg,
                            s.url,
                            lambda prefix, t=token, p=path: ["post", t, str(templates), p, prefix],
                            scenario="intake",
                            engine=engine,
                            workers=w,
                            conns=c,
                            tag=f"{run_id}{engine[0].upper()}{w}x{c}",
                            check=check,
                            meter=servers.CpuMeter(s, database, cfg.pg_admin_dsn),
                        )
                        rows.append(row)
    return rows


# --- read path -----------------------------------------------------------------------------


async def _read_fixtures(cfg: Config) -> tuple[str, list[uuid.UUID], list[Any]]:
    conn = await asyncpg.connect(cfg.dsn(READ_DB))
    try:
        org_id = await conn.fetchval("SELECT id FROM organisations WHERE trkref = $1", seed.TRKREF)
        # 10,000 ids spread over the whole table: GET by id is not served from a hot few rows.
        percent = min(100.0, 1.5e6 / cfg.seed_orders)
        sample = await conn.fetch(
            f"SELECT id FROM orders TABLESAMPLE BERNOULLI ({percent}) REPEATABLE (7) "
            "ORDER BY md5(id::text) LIMIT 10000"
        )
        ids = [r["id"] for r in sample]
        # Deep pages: 20 positions between half-way and the very end of 1M orders, newest
        # first. Seeded numbers follow creation time, so position k is number N - k.
        n = cfg.seed_orders
        numbers = [n - (n // 2 + i * (n // 2 - 100) // 20) for i in range(20)]
        deep = await conn.fetch(
            "SELECT created_at, id FROM orders WHERE number = ANY($1::bigint[])", numbers
        )
        return str(org_id), ids, list(deep)
    finally:
        await conn.close()


def _deep_cursors(url: str, token: str, deep: list[Any]) -> list[str]:
    """ordergate's own cursors positioned at the deep rows, obtained through the API (its
    cursor format stays its own business): the one-order page created just before a deep
    row's time (plus 1 µs) holds that row, and its next_cursor points right after it."""
    paths = []
    for created_at, order_id in deep:
        before = (created_at + dt.timedelta(microseconds=1)).isoformat()
        query = urllib.parse.urlencode({"limit": 1, "created_before": before})
        request = urllib.request.Request(
            f"{url}/v1/orders?{query}", headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(request, timeout=30) as resp:
            page = orjson.loads(resp.read())
        assert page["data"][0]["id"] == str(order_id), "deep cursor is not where expected"
        paths.append(
            "/v1/orders?" + urllib.parse.urlencode({"limit": 50, "cursor": page["next_cursor"]})
        )
    return paths


def _check_page(url: str, path: str, token: str) -> None:
    request = urllib.request.Request(url + path, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as resp:
        page = orjson.loads(resp.read())
    if len(page["data"]) != 50:
        raise RuntimeError(f"{path} returned {len(page['data'])} orders, not 50")


def run_read(cfg: Config) -> list[Row]:
    print(f"== read path: {cfg.seed_orders:,} orders in PostgreSQL", flush=True)
    asyncio.run(seed.ensure(cfg.pg_admin_dsn, READ_DB, cfg.seed_orders))
    url = cfg.url(READ_DB)
    token = servers.cli_json(url, "key", "create", seed.TRKREF)["token"]
    org_id, ids, deep = asyncio.run(_read_fixtures(cfg))

    files = {}
    for name, lines in (
        ("get_by_id", [f"/v1/orders/{i}" for i in ids]),
        ("list_first_page", ["/v1/orders?limit=50"]),
        (
            "list_deep_page.base",
            [
                "/v1/orders?"
                + urllib.parse.urlencode({"limit": 50, "after": f"{c.isoformat()},{i}"})
                for c, i in deep
            ],
        ),
    ):
        files[name] = servers.CACHE / f"{name}.paths"
        files[name].write_text("\n".join(lines) + "\n")
    files["get_by_id.base"] = files["get_by_id"]
    files["list_first_page.base"] = files["list_first_page"]

    scenarios = ("get_by_id", "list_first_page", "list_deep_page")
    rows = []
    for w in cfg.workers:
        for engine in ("baseline", "postgresql"):
            if engine == "baseline":
                server = servers.baseline(f"read-baseline-w{w}", cfg.dsn(READ_DB), org_id, w)
            else:
                server = servers.ordergate(f"read-postgresql-w{w}", url, w)
            with servers.running(server) as s:
                if engine == "postgresql" and "list_deep_page" not in files:
                    files["list_deep_page"] = servers.CACHE / "list_deep_page.paths"
                    files["list_deep_page"].write_text(
                        "\n".join(_deep_cursors(s.url, token, deep)) + "\n"
                    )
                suffix = ".base" if engine == "baseline" else ""
                for scenario in scenarios:
                    paths = files[scenario + suffix]
                    if scenario != "get_by_id":
                        _check_page(s.url, paths.read_text().splitlines()[0], token)
                    for c in cfg.read_connections:
                        rows.append(
                            _measure(
                                cfg,
                                s.url,
                                lambda _prefix, p=paths: ["paths", token, str(p)],
                                scenario=scenario,
                                engine=engine,
                                workers=w,
                                conns=c,
                                tag="read",
                                meter=servers.CpuMeter(s, READ_DB, cfg.pg_admin_dsn),
                            )
                        )
    return rows


# --- validation ----------------------------------------------------------------------------


def run_validation(cfg: Config) -> list[Row]:
    print("== validation: parse_json + validate_order, in process (one core)", flush=True)
    v = validation.run(cfg.duration)
    print(f"   {v.per_second:,.0f} orders/s  p50 {v.p50_ms:.3f} ms  p99 {v.p99_ms:.3f} ms")
    return [
        Row(
            scenario="validation",
            engine="in-process",
            workers=1,
            connections=0,
            orders_per_s=round(v.per_second, 1),
            p50_ms=round(v.p50_ms, 4),
            p99_ms=round(v.p99_ms, 4),
            errors=0,
            requests=v.count,
            seconds=round(v.seconds, 2),
        )
    ]


# --- main ----------------------------------------------------------------------------------


def main() -> int:
    cfg = Config.from_env()
    loadgen.ensure_wrk()
    servers.CACHE.mkdir(parents=True, exist_ok=True)
    servers.reap_leftovers()
    meta = _meta(cfg)
    began = time.monotonic()
    load1 = meta["loadavg_at_start"][0]
    print(
        f"ordergate benchmark ({meta['mode']}), {meta['git_sha']}, "
        f"{cfg.duration:g} s per point, workers {cfg.workers}, load average {load1:.2f}"
    )
    if load1 > 0.5:
        print("!! the machine is busy: absolute figures will be low; ratios still compare")
    # A per-run prefix keeps every run's order refs apart, even on a reused database.
    run_id = uuid.uuid4().hex[:6]
    rows: list[Row] = []
    try:
        if "validation" in cfg.scenarios:
            rows += run_validation(cfg)
        if "intake" in cfg.scenarios:
            rows += run_intake(cfg, run_id)
        if "read" in cfg.scenarios:
            rows += run_read(cfg)
        if "import" in cfg.scenarios:
            rows += imports.run(cfg.pg_admin_dsn, cfg.import_orders)
    finally:
        servers.stop_all()

    rows = report.ordered(rows)
    report.add_ratios(rows)
    goals = report.targets(rows)
    meta["loadavg_at_end"] = os.getloadavg()
    meta["wall_seconds"] = round(time.monotonic() - began)
    print()
    report.print_table(rows)
    print()
    report.print_targets(goals)
    day = dt.date.today().isoformat()
    suffix = "" if cfg.mode == "full" else f"-{cfg.mode}"
    path = RESULTS / f"{day}-{meta['git_sha']}{suffix}.json"
    report.write_json(path, meta, rows, goals)
    print(f"\nresults: {path.relative_to(servers.ROOT)} ({meta['wall_seconds']} s)")

    if cfg.profile_seconds > 0:
        if "intake" not in cfg.scenarios:
            asyncio.run(_recreate(cfg, INTAKE_DB))
        profile.run(cfg.url(INTAKE_DB), cfg.profile_seconds, path.with_suffix(".profile.txt"))
    mismatches = [r for r in rows if r.db_check and not r.db_check.startswith("ok")]
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
