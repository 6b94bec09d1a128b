"""``ordergate import``: the import engine fed from a file or stdin, with progress.

No server is needed: lines are read in chunks of whole lines and each chunk is written in one
transaction, exactly as a runner writes a spooled chunk. The import is recorded (source
``cli``, key id ``cli``) so that ``GET /v1/imports/{id}`` shows it and ``import.completed`` is
written at the end.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import gc
import time
from collections.abc import Iterator
from typing import Any, BinaryIO

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from ordergate import db as dbm
from ordergate.errors import NotFound
from ordergate.intake import imports, submissions
from ordergate.intake.batch import Mode
from ordergate.settings import Settings
from ordergate.tenancy import service as tenancy
from ordergate.tenancy.auth import Principal

stderr = Console(stderr=True)


def chunks_of(stream: BinaryIO, size: int) -> Iterator[bytes]:
    """Whole lines, about ``size`` bytes at a time (a longer line is one chunk of its own)."""
    rest = b""
    while True:
        piece = stream.read(size)
        if not piece:
            break
        data = rest + piece
        cut = data.rfind(b"\n")
        if cut < 0:
            rest = data
            continue
        yield data[: cut + 1]
        rest = data[cut + 1 :]
    if rest:
        yield rest


async def run(
    settings: Settings,
    stream: BinaryIO,
    size: int | None,
    org_ref: str,
    mode: str,
    *,
    quiet: bool,
) -> dict[str, Any]:
    """Import from ``stream`` (``size`` bytes, None when unknown) into the organisation."""
    database = dbm.Database(settings.database_url, pool_size=2)
    try:
        async with database.write() as conn:
            org = await tenancy.find_organisation(conn, org_ref)
            if org is None:
                raise NotFound(f"No organisation {org_ref}")
            principal = Principal(org.id, org.trkref, org.number, "cli", frozenset())
            import_id = await imports.create(
                conn, principal, mode=mode_of(mode), source="cli", status="running"
            )
            # The import is its own submission, as through the API (its orders name it).
            await submissions.record(
                conn,
                [
                    {
                        "organisation_id": org.id,
                        "id": import_id,
                        "received_at": dt.datetime.now(dt.UTC),
                        "key_id": "cli",
                        "dialect": "cli",
                        "method": "CLI",
                        "path": "ordergate import",
                        "status_code": 200,
                        "outcome": "import",
                        "order_ids": [],
                        "errors": None,
                        "body": None,
                    }
                ],
            )
        # What is alive now stays out of the collector's passes while the import runs
        # (imports.keep_out_of_gc), and goes back to it after.
        imports.keep_out_of_gc()
        return await _run(database, settings, principal, import_id, stream, size, mode, quiet)
    finally:
        gc.unfreeze()
        imports.shutdown_pool()
        await database.dispose()


def mode_of(mode: str) -> Mode:
    return "upsert" if mode == "upsert" else "create"


async def _run(
    database: dbm.Database,
    settings: Settings,
    principal: Principal,
    import_id: Any,
    stream: BinaryIO,
    size: int | None,
    mode: str,
    quiet: bool,
) -> dict[str, Any]:
    counts = imports.Counts()
    row = _Row(principal.organisation_id, import_id)
    started = time.monotonic()
    read = seq = 0
    next_line = 1
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TextColumn("{task.fields[orders]:>10,} orders  {task.fields[rate]:>8,.0f}/s"),
        TimeRemainingColumn(),
        console=stderr,
        disable=quiet,
    )
    processes = settings.import_processes

    def start(data: bytes, first_line: int) -> asyncio.Task[imports.Prepared]:
        return asyncio.create_task(imports.prepare_elsewhere(data, first_line, processes))

    with progress:
        task = progress.add_task("importing", total=size, orders=0, rate=0.0)
        # While one chunk is written, the next is read and validated (in another process
        # when ORDERGATE_IMPORT_PROCESSES > 0).
        # Up to one chunk ahead per process: (data, first line, its preparation).
        chunks = chunks_of(stream, settings.import_chunk_bytes)
        ahead: collections.deque[tuple[bytes, int, asyncio.Task[imports.Prepared]]]
        ahead = collections.deque()
        line_after = next_line

        def fill() -> None:
            nonlocal line_after
            while len(ahead) < max(processes, 1):
                piece = next(chunks, None)
                if piece is None:
                    return
                ahead.append((piece, line_after, start(piece, line_after)))
                line_after += piece.count(b"\n")

        fill()
        while ahead:
            data, next_line, preparing = ahead.popleft()
            prepared = await preparing
            fill()
            async with database.write() as conn:
                results = await imports.write_lines(
                    conn, principal, prepared, mode=mode_of(mode), import_id=import_id
                )
                counts.add(results)
                await imports.record_progress(
                    conn, row, counts, next_chunk=seq + 1, done=False, lease_token=None
                )
            seq += 1
            read += len(data)
            rate = counts.processed / max(time.monotonic() - started, 1e-6)
            progress.update(task, completed=read, orders=counts.processed, rate=rate)
    async with database.write() as conn:
        await imports.set_size(
            conn, row.organisation_id, import_id, total=counts.processed, chunks=seq, size=read
        )
        await imports.record_progress(
            conn, row, counts, next_chunk=seq, done=True, lease_token=None
        )
        final = imports.render(await imports.get_row(conn, row.organisation_id, import_id))
    final["seconds"] = round(time.monotonic() - started, 3)
    return final


class _Row:
    def __init__(self, organisation_id: Any, import_id: Any) -> None:
        self.organisation_id = organisation_id
        self.id = import_id


def print_summary(summary: dict[str, Any]) -> None:
    table = Table(title=f"import {summary['id']}", show_header=True)
    table.add_column("outcome")
    table.add_column("lines", justify="right")
    for name in ("created", "updated", "unchanged", "duplicates", "conflicts", "invalid"):
        table.add_row(name, f"{summary[name]:,}")
    table.add_row("[bold]total", f"[bold]{summary['processed']:,}")
    console = Console()
    console.print(table)
    seconds = summary["seconds"]
    rate = summary["processed"] / seconds if seconds else 0
    console.print(f"{summary['processed']:,} lines in {seconds:.1f} s ({rate:,.0f}/s)")
    for error in summary["errors"][:20]:
        first = error["errors"][0]
        console.print(f"  line {error['line']}: {first['pointer'] or '/'} {first['detail']}")
    if len(summary["errors"]) > 20:
        console.print(f"  … {len(summary['errors']) - 20} more lines with errors (see --json)")
