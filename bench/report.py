"""The results: one row per measured point, the table on stdout, the targets, the JSON file."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any


@dataclass(slots=True)
class Row:
    scenario: str  # intake | get_by_id | list_first_page | list_deep_page | validation
    engine: str  # postgresql | sqlite | baseline | http-ceiling | in-process
    workers: int
    connections: int
    # Successful (2xx) operations per second: orders created for intake, requests answered
    # for the read scenarios, orders validated for validation.
    orders_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int
    seconds: float
    ratio_to_baseline: float | None = None
    # CPU milliseconds per successful operation, measured from /proc over the point: in the
    # server's processes (SQLite included, it runs in process) and in its PostgreSQL backends.
    app_cpu_ms: float | None = None
    db_cpu_ms: float | None = None
    # PostgreSQL sessions that ended during the point: a pool that keeps its connections
    # shows 0; one that opens and closes connections under load shows how often it does.
    db_sessions_ended: int | None = None
    # baseline's CPU per operation ÷ this row's (app + db): the steadiest comparison on a
    # busy machine, where throughput moves with the neighbours but CPU per order barely does.
    cpu_ratio_to_baseline: float | None = None
    db_check: str | None = None  # intake: orders found in the database vs 2xx answers

    def key(self) -> tuple[str, int, int]:
        return (self.scenario, self.workers, self.connections)


_SCENARIOS = ("validation", "intake", "get_by_id", "list_first_page", "list_deep_page", "import")
_ENGINES = ("in-process", "http-ceiling", "baseline", "postgresql", "sqlite")


def ordered(rows: list[Row]) -> list[Row]:
    """Side by side: each point's engines together, baseline first."""
    return sorted(
        rows,
        key=lambda r: (
            _SCENARIOS.index(r.scenario),
            r.workers,
            r.connections,
            _ENGINES.index(r.engine),
        ),
    )


def add_ratios(rows: list[Row]) -> None:
    """Throughput and CPU per operation relative to the baseline at the same scenario,
    workers and connections."""
    baseline = {r.key(): r for r in rows if r.engine == "baseline"}
    for r in rows:
        b = baseline.get(r.key())
        if b is None:
            continue
        if b.orders_per_s:
            r.ratio_to_baseline = round(r.orders_per_s / b.orders_per_s, 3)
        cpu, base_cpu = _cpu_total(r), _cpu_total(b)
        if cpu and base_cpu:
            r.cpu_ratio_to_baseline = round(base_cpu / cpu, 3)


def _cpu_total(r: Row) -> float | None:
    if r.app_cpu_ms is None:
        return None
    return r.app_cpu_ms + (r.db_cpu_ms or 0.0)


@dataclass(frozen=True, slots=True)
class Target:
    what: str
    value: float | None
    goal: str
    met: bool | None


def _find(rows: list[Row], scenario: str, engine: str, workers: int, conns: int) -> Row | None:
    for r in rows:
        if (r.scenario, r.engine, r.workers, r.connections) == (scenario, engine, workers, conns):
            return r
    return None


def targets(rows: list[Row]) -> list[Target]:
    """The issue's targets, all at 2 worker processes and 64 connections."""
    out: list[Target] = []

    def check(what: str, row: Row | None, attr: str, goal: str, ok: Any) -> None:
        value = None if row is None else getattr(row, attr)
        out.append(Target(what, value, goal, None if value is None else bool(ok(value))))

    pg = _find(rows, "intake", "postgresql", 2, 64)
    check(
        "POST /v1/orders, PostgreSQL: orders/s", pg, "orders_per_s", ">= 3000", lambda v: v >= 3000
    )
    check("POST /v1/orders, PostgreSQL: p99 ms", pg, "p99_ms", "<= 50", lambda v: v <= 50)
    check(
        "POST /v1/orders, PostgreSQL: x baseline",
        pg,
        "ratio_to_baseline",
        ">= 0.60",
        lambda v: v >= 0.6,
    )
    sq = _find(rows, "intake", "sqlite", 2, 64)
    check("POST /v1/orders, SQLite: orders/s", sq, "orders_per_s", ">= 2500", lambda v: v >= 2500)
    get = _find(rows, "get_by_id", "postgresql", 2, 64)
    check("GET /v1/orders/{id}: req/s", get, "orders_per_s", ">= 6000", lambda v: v >= 6000)
    check("GET /v1/orders/{id}: p99 ms", get, "p99_ms", "<= 20", lambda v: v <= 20)
    first = _find(rows, "list_first_page", "postgresql", 2, 64)
    check(
        "GET /v1/orders?limit=50 (1M): req/s", first, "orders_per_s", ">= 1500", lambda v: v >= 1500
    )
    deep = _find(rows, "list_deep_page", "postgresql", 2, 64)
    check("deep cursor page (1M): req/s", deep, "orders_per_s", ">= 1500", lambda v: v >= 1500)
    if first is not None and deep is not None and first.orders_per_s:
        ratio = round(deep.orders_per_s / first.orders_per_s, 3)
        # "As fast as the first page", with the run-to-run noise of this machine (10%).
        out.append(Target("deep page / first page", ratio, ">= 0.90", ratio >= 0.9))
    imp = _find(rows, "import", "postgresql", 1, 0)
    check(
        "import NDJSON, PostgreSQL: orders/s", imp, "orders_per_s", ">= 20000", lambda v: v >= 20000
    )
    check(
        "import NDJSON, PostgreSQL: x raw COPY",
        imp,
        "ratio_to_baseline",
        ">= 0.40",
        lambda v: v >= 0.4,
    )
    errors = sum(r.errors for r in rows)
    out.append(Target("errors, all points", errors, "== 0", errors == 0))
    return out


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _cpu(r: Row) -> str:
    """``app+db`` CPU ms per operation."""
    if r.app_cpu_ms is None:
        return "-"
    return f"{r.app_cpu_ms:.2f}" + ("" if r.db_cpu_ms is None else f"+{r.db_cpu_ms:.2f}")


def print_table(rows: list[Row]) -> None:
    header = (
        f"{'scenario':<16} {'engine':<13} {'wk':>2} {'conns':>5} {'orders/s':>9} "
        f"{'p50 ms':>8} {'p99 ms':>8} {'errors':>6} {'x base':>6} {'cpu ms/op':>11} "
        f"{'x cpu':>5} {'churn':>5}  db check"
    )
    print(header)
    print("-" * len(header))
    previous = None
    for r in rows:
        if previous is not None and (r.scenario, r.workers) != previous:
            print()
        previous = (r.scenario, r.workers)
        print(
            f"{r.scenario:<16} {r.engine:<13} {r.workers:>2} {r.connections:>5} "
            f"{_fmt(r.orders_per_s, 0):>9} {_fmt(r.p50_ms, 2):>8} {_fmt(r.p99_ms, 2):>8} "
            f"{r.errors:>6} {_fmt(r.ratio_to_baseline, 2):>6} {_cpu(r):>11} "
            f"{_fmt(r.cpu_ratio_to_baseline, 2):>5} {_fmt(r.db_sessions_ended, 0):>5}  "
            f"{r.db_check or ''}"
        )


def print_targets(items: list[Target]) -> None:
    print(f"{'target (2 workers, 64 connections)':<42} {'value':>10}  {'goal':<8} verdict")
    for t in items:
        verdict = "n/a" if t.met is None else ("met" if t.met else "MISSED")
        print(f"{t.what:<42} {_fmt(t.value, 2):>10}  {t.goal:<8} {verdict}")


def write_json(path: Path, meta: dict[str, Any], rows: list[Row], items: list[Target]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "meta": meta,
        "results": [asdict(r) for r in rows],
        "targets": [asdict(t) for t in items],
    }
    path.write_text(json.dumps(doc, indent=2) + "\n")


def markdown(doc: dict[str, Any]) -> str:
    """The results file as the Markdown tables of docs/performance.md."""
    lines = [
        "| scenario | engine | workers | conns | orders/s | p50 ms | p99 ms | errors "
        "| × baseline | CPU ms/op (app+db) | × baseline CPU | PG sessions ended |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    known = {f.name for f in fields(Row)}
    rows = [Row(**{k: v for k, v in r.items() if k in known}) for r in doc["results"]]
    add_ratios(rows)  # files from older versions of the harness get the newer ratios too
    for row in rows:
        lines.append(
            f"| {row.scenario} | {row.engine} | {row.workers} | {row.connections or '-'} "
            f"| {_fmt(row.orders_per_s, 0)} | {_fmt(row.p50_ms, 2)} | {_fmt(row.p99_ms, 2)} "
            f"| {row.errors} | {_fmt(row.ratio_to_baseline, 2)} | {_cpu(row)} "
            f"| {_fmt(row.cpu_ratio_to_baseline, 2)} | {_fmt(row.db_sessions_ended, 0)} |"
        )
    lines += [
        "",
        "| target (2 workers, 64 connections) | value | goal | verdict |",
        "|---|--:|---|---|",
    ]
    for t in doc["targets"]:
        verdict = "n/a" if t["met"] is None else ("met" if t["met"] else "**missed**")
        lines.append(f"| {t['what']} | {_fmt(t['value'], 2)} | {t['goal']} | {verdict} |")
    return "\n".join(lines)


if __name__ == "__main__":  # python -m bench.report bench/results/<file>.json
    import sys

    print(markdown(json.loads(Path(sys.argv[1]).read_text())))
