"""NDJSON imports: one canonical order per line, in bulk.

The same engine serves ``POST /v1/imports`` (the body is spooled into ``import_chunks`` as it
arrives, then a background runner processes it) and ``ordergate import`` (lines are read from
the file and processed at once). Each chunk of lines is written like a batch
(``intake.batch``): set-based, one transaction, together with the import's counts and its
position, so that a job resumed after a crash neither repeats nor skips a line.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import gc
import multiprocessing
import signal
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import orjson
import sqlalchemy as sa
import uuid_utils.compat as uuid_utils
from sqlalchemy.ext.asyncio import AsyncConnection

from ordergate import db
from ordergate.errors import FieldError, NotFound, OrdergateError, ValidationFailed
from ordergate.events import outbox
from ordergate.events.tables import events
from ordergate.intake import batch
from ordergate.intake.tables import import_chunks, imports
from ordergate.orders import history, service, store
from ordergate.orders.fields import iso_utc
from ordergate.orders.model import Order, validate_order_json
from ordergate.orders.tables import order_history
from ordergate.tenancy.auth import Principal
from ordergate.tenancy.service import EVENT_IDS
from ordergate.web import parse_json

MAX_ERRORS = 1000  # line errors kept per import
VIA = "import"

c = imports.c


class ImportNotFound(NotFound):
    code = "import_not_found"
    title = "Import not found"


class LeaseLost(Exception):
    """Another runner took the import over (this one was too slow or presumed dead)."""


# --- lines ----------------------------------------------------------------------------------


def split_lines(data: bytes, first_line: int) -> Iterator[tuple[int, bytes]]:
    """Non-blank lines with their 1-based numbers (``\\r\\n`` and ``\\n`` both end a line)."""
    for offset, raw in enumerate(data.split(b"\n")):
        line = raw.strip()
        if line:
            yield first_line + offset, line


def count_lines(data: bytes) -> int:
    return sum(1 for _ in split_lines(data, 1))


def _parse(number: int, line: bytes) -> Order | batch.EntryResult:
    order = validate_order_json(line)
    if order is not None:
        return order
    try:
        raw = parse_json(line)
    except ValidationFailed as exc:  # a NUL character in a string
        return batch.EntryResult(number, "invalid", errors=list(exc.errors))
    except OrdergateError as exc:  # not JSON: an error for this line only
        detail = exc.detail.replace("The body is", "The line is")
        return batch.EntryResult(number, "invalid", errors=[FieldError("", exc.code, detail)])
    return batch.validate(number, raw)


@dataclass(slots=True)
class Counts:
    processed: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    conflicts: int = 0
    invalid: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def add(self, results: list[batch.EntryResult]) -> None:
        for r in results:
            self.processed += 1
            match r.outcome:
                case "created":
                    self.created += 1
                case "updated":
                    self.updated += 1
                case "unchanged":
                    self.unchanged += 1
                case "duplicate":
                    self.duplicates += 1
                case "conflict":
                    self.conflicts += 1
                case "invalid":
                    self.invalid += 1
            if r.errors and len(self.errors) < MAX_ERRORS:
                self.errors.append(
                    {
                        "line": r.index,
                        "outcome": r.outcome,
                        "errors": [e.as_dict() for e in r.errors],
                    }
                )

    def columns(self) -> dict[str, Any]:
        return {
            "processed": self.processed,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "duplicates": self.duplicates,
            "conflicts": self.conflicts,
            "invalid": self.invalid,
            "errors": self.errors,
        }


Prepared = list[tuple[int, "store.NewOrderRows | batch.EntryResult"]]


def prepare(data: bytes, first_line: int) -> Prepared:
    """Parse, validate and normalise a chunk's lines: each line's order as the values to
    store, or its ``invalid`` result. No database: it runs in the validation processes (see
    :func:`prepare_elsewhere`), which also do all the per-order work that needs nothing but
    the document (serialising it, its derived columns, items, tags and status), so that the
    single writing process only adds ids, numbers and times."""
    out: Prepared = []
    for n, line in split_lines(data, first_line):
        parsed = _parse(n, line)
        if isinstance(parsed, batch.EntryResult):
            out.append((n, parsed))
            continue
        out.append((n, store.new_order_rows(parsed, *service.opening_of(parsed))))
    return out


_pool: concurrent.futures.ProcessPoolExecutor | None = None


async def prepare_elsewhere(data: bytes, first_line: int, processes: int) -> Prepared:
    """:func:`prepare` in a pool of ``processes`` processes (0: here), so that validation
    runs beside the database writes and never blocks this process's event loop."""
    global _pool
    if processes <= 0:
        return prepare(data, first_line)
    if _pool is None:
        # spawn: a clean interpreter, safe whatever threads and loops this process has
        context = multiprocessing.get_context("spawn")
        _pool = concurrent.futures.ProcessPoolExecutor(
            processes, mp_context=context, initializer=_start_validation_process
        )
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_pool, prepare, data, first_line)


def _start_validation_process() -> None:
    """In a validation process: SIGINT and SIGTERM sent to the whole process group (Ctrl-C,
    systemd's default stop) are for the parent, which finishes its chunk and then shuts the
    pool down. A child that died of them would break the pool under the chunk being validated.
    Its modules are loaded by now: see :func:`keep_out_of_gc`."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    keep_out_of_gc()


def keep_out_of_gc() -> None:
    """Leave the objects alive now (modules, classes, schemas: a process's start-up) out of
    the cyclic garbage collector's passes. A chunk makes tens of thousands of tuples, each
    batch of which starts a pass, and the oldest generation's passes walked every object of
    the start-up each time: a sixth of the writer's work per order, and a third of the time
    to unpickle a prepared chunk. The objects stay alive as they were (``gc.freeze``)."""
    gc.freeze()


def shutdown_pool() -> None:
    global _pool
    if _pool is not None:
        _pool.shutdown(cancel_futures=True)
        _pool = None


async def write_lines(
    conn: AsyncConnection,
    principal: Principal,
    prepared: Prepared,
    *,
    mode: batch.Mode,
    import_id: UUID | None,
) -> list[batch.EntryResult]:
    """Write one chunk's prepared lines (in the caller's transaction).

    Lines apply in order, as if sent one after another, wherever the chunks are cut: a line
    repeating an earlier line's order_ref is applied after it (so in upsert mode a later line
    replaces an earlier one). Each round of writes holds each order_ref at most once.

    On PostgreSQL the orders of a round whose refs are not stored yet (an import's usual
    case) are written by COPY (:func:`_copy_created`); the others, and all of them on SQLite,
    go through the batch path (``orders.service``: set-based INSERTs and UPDATEs)."""
    results = [p for _, p in prepared if isinstance(p, batch.EntryResult)]
    entries = [(n, p) for n, p in prepared if not isinstance(p, batch.EntryResult)]
    copying = conn.dialect.name == "postgresql"
    for round_ in batch.rounds(entries, lambda rows: rows.order_ref):
        free = set[str]()
        if copying:
            refs = [rows.order_ref for _, rows in round_]
            free = await store.free_refs(conn, principal.organisation_id, refs)
        new = [(n, rows) for n, rows in round_ if rows.order_ref in free]
        rest = [(n, rows) for n, rows in round_ if rows.order_ref not in free]
        created = await _copy_created(conn, principal, new, import_id) if new else []
        if created is None:  # a concurrent transaction took one of the refs meanwhile
            rest, created = round_, []
        results += created
        if rest:
            results += await batch.apply(
                conn,
                principal,
                [(n, rows.document()) for n, rows in rest],
                mode=mode,
                submission_id=import_id,
                via=VIA,
            )
    return sorted(results, key=lambda r: r.index)


_HISTORY_COPY = (
    *("organisation_id", "order_id", "version", "at", "key_id", "submission_id", "kind", "data"),
)
_EVENT_COPY = ("organisation_id", "id", "txid", "type", "order_id", "seq", "occurred_at", "data")


@dataclass(frozen=True, slots=True)
class _Created:
    """What ``history.created`` reads of an order created by an import."""

    organisation_id: UUID
    id: UUID
    updated_at: dt.datetime
    version: int = 1
    submitted_via: str = VIA


async def _copy_created(
    conn: AsyncConnection,
    principal: Principal,
    entries: list[tuple[int, store.NewOrderRows]],
    import_id: UUID | None,
) -> list[batch.EntryResult] | None:
    """PostgreSQL: create orders whose refs were found free by COPY, with the rows that
    ``orders.service.create_many`` writes for them: the order, its items and tags, its
    ``created`` history entry and its ``order.created`` event (the order as rendered), in
    the same transaction. None, with nothing written, when a concurrent transaction has
    taken one of the refs since: the caller then creates them the usual way (ON CONFLICT),
    with the same outcomes."""
    org_id = principal.organisation_id
    new = [rows for _, rows in entries]
    try:
        async with conn.begin_nested():
            copied = await store.copy_new(conn, org_id, new, via=VIA, submission_id=import_id)
            at = copied.at
            # Every order's history entry is the same but for the order's id.
            entry = history.created(
                _Created(org_id, copied.ids[0], at), principal.key_id, import_id
            )
            entry["data"] = orjson.dumps(entry["data"]).decode()
            same = [entry[c] for c in _HISTORY_COPY[2:]]
            await store.copy_records(
                conn, order_history, _HISTORY_COPY, [(org_id, i, *same) for i in copied.ids]
            )
            event_ids = await db.take_numbers(conn, org_id, EVENT_IDS, len(new))
            shown_at = iso_utc(at)
            await store.copy_records(
                conn,
                events,
                _EVENT_COPY,
                [
                    (org_id, event_id, copied.txid, "order.created", i, 1, at)
                    + (store.rendered_json(rows, i, number, shown_at, VIA),)
                    for rows, i, number, event_id in zip(
                        new, copied.ids, copied.numbers, event_ids, strict=True
                    )
                ],
            )
    except store.RowsConflict:
        return None
    return [
        batch.EntryResult(n, "created", i) for (n, _), i in zip(entries, copied.ids, strict=True)
    ]


# --- the job --------------------------------------------------------------------------------


async def create(
    conn: AsyncConnection,
    principal: Principal,
    *,
    mode: batch.Mode,
    source: str,
    status: str = "receiving",
    idempotency_key: str | None = None,
    import_id: UUID | None = None,
) -> UUID:
    now = dt.datetime.now(dt.UTC)
    import_id = import_id or uuid_utils.uuid7()
    await conn.execute(
        imports.insert().values(
            organisation_id=principal.organisation_id,
            id=import_id,
            key_id=principal.key_id,
            source=source,
            mode=mode,
            status=status,
            bytes=0,
            chunks=0,
            next_chunk=0,
            errors=[],
            idempotency_key=idempotency_key,
            created_at=now,
            updated_at=now,
            **{k: 0 for k in ("processed", "created", "updated", "unchanged")},
            **{k: 0 for k in ("duplicates", "conflicts", "invalid")},
        )
    )
    return import_id


async def add_chunk(
    conn: AsyncConnection, org_id: UUID, import_id: UUID, seq: int, first_line: int, data: bytes
) -> None:
    await conn.execute(
        import_chunks.insert().values(
            organisation_id=org_id, import_id=import_id, seq=seq, first_line=first_line, data=data
        )
    )


async def received(
    conn: AsyncConnection,
    org_id: UUID,
    import_id: UUID,
    *,
    total: int,
    chunks: int,
    size: int,
    sha256: str,
) -> None:
    """The whole body is spooled: queue the import for a runner."""
    await conn.execute(
        imports.update()
        .where(c.organisation_id == org_id, c.id == import_id)
        .values(
            status="queued",
            total=total,
            chunks=chunks,
            bytes=size,
            body_sha256=sha256,
            updated_at=dt.datetime.now(dt.UTC),
        )
    )


async def discard(conn: AsyncConnection, org_id: UUID, import_id: UUID) -> None:
    """Forget an import whose body never arrived whole (its chunks go with it)."""
    await conn.execute(
        import_chunks.delete().where(
            import_chunks.c.organisation_id == org_id, import_chunks.c.import_id == import_id
        )
    )
    await conn.execute(imports.delete().where(c.organisation_id == org_id, c.id == import_id))


async def set_size(
    conn: AsyncConnection, org_id: UUID, import_id: UUID, *, total: int, chunks: int, size: int
) -> None:
    """The CLI's import: what was read, once the input has ended."""
    await conn.execute(
        imports.update()
        .where(c.organisation_id == org_id, c.id == import_id)
        .values(total=total, chunks=chunks, bytes=size)
    )


def render(row: Any) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "status": row.status,
        "mode": row.mode,
        "source": row.source,
        "bytes": row.bytes,
        "total": row.total,
        "processed": row.processed,
        "created": row.created,
        "updated": row.updated,
        "unchanged": row.unchanged,
        "duplicates": row.duplicates,
        "conflicts": row.conflicts,
        "invalid": row.invalid,
        "errors": row.errors,
        "failure": row.failure,
        "created_at": iso_utc(row.created_at),
        "updated_at": iso_utc(row.updated_at),
        "completed_at": iso_utc(row.completed_at) if row.completed_at else None,
    }


async def get_row(conn: AsyncConnection, org_id: UUID, import_id: UUID) -> Any:
    row = (
        await conn.execute(sa.select(imports).where(c.organisation_id == org_id, c.id == import_id))
    ).first()
    if row is None:
        raise ImportNotFound(f"No import {import_id}")
    return row


async def list_page(
    conn: AsyncConnection, org_id: UUID, *, before: UUID | None, limit: int
) -> tuple[list[Any], UUID | None]:
    """Imports newest first (ids are UUIDv7, so the primary key is in time order), without
    their line errors; the cursor is the last import's id."""
    stmt = sa.select(*(col for col in imports.c if col.name not in ("errors", "body_sha256")))
    stmt = stmt.where(c.organisation_id == org_id)
    if before is not None:
        stmt = stmt.where(c.id < before)
    rows = list(await conn.execute(stmt.order_by(c.id.desc()).limit(limit + 1)))
    return rows[:limit], (rows[limit - 1].id if len(rows) > limit else None)


async def by_idempotency_key(conn: AsyncConnection, org_id: UUID, key: str) -> Any:
    return (
        await conn.execute(
            sa.select(imports).where(c.organisation_id == org_id, c.idempotency_key == key)
        )
    ).first()


async def record_progress(
    conn: AsyncConnection,
    row: Any,
    counts: Counts,
    *,
    next_chunk: int,
    done: bool,
    lease_token: UUID | None,
) -> None:
    """Write the counts after a chunk; on the last one complete the import and write its
    ``import.completed`` event (same transaction)."""
    now = dt.datetime.now(dt.UTC)
    values: dict[str, Any] = {
        **counts.columns(),
        "next_chunk": next_chunk,
        "updated_at": now,
        "failures": 0,
        "failure": None,
    }
    if done:
        values.update(status="completed", completed_at=now, lease_token=None, lease_until=None)
    where = [c.organisation_id == row.organisation_id, c.id == row.id]
    if lease_token is not None:
        where.append(c.lease_token == lease_token)
    result = await conn.execute(imports.update().where(*where).values(**values))
    if result.rowcount != 1:
        raise LeaseLost(str(row.id))
    if done:
        final = await get_row(conn, row.organisation_id, row.id)
        event = outbox.event(row.organisation_id, "import.completed", None, 1, now, render(final))
        await outbox.append(conn, [event])


def counts_of(row: Any) -> Counts:
    return Counts(
        processed=row.processed,
        created=row.created,
        updated=row.updated,
        unchanged=row.unchanged,
        duplicates=row.duplicates,
        conflicts=row.conflicts,
        invalid=row.invalid,
        errors=list(row.errors),
    )


def principal_of(row: Any) -> Principal:
    """Whom the import's changes are recorded as: the key that started it."""
    return Principal(
        organisation_id=row.organisation_id,
        trkref="",
        organisation_number=0,
        key_id=row.key_id,
        scopes=frozenset(),
    )


# --- the runner's side ----------------------------------------------------------------------


async def claim(conn: AsyncConnection, *, now: dt.datetime, lease_seconds: float) -> Any:
    """Lease the oldest queued (or abandoned running) import; None if there is none."""
    row = (
        await conn.execute(
            sa.select(imports)
            .where(
                c.status.in_(("queued", "running")),
                c.source == "api",  # a CLI import is run by its own command, not resumed
                sa.or_(c.lease_until.is_(None), c.lease_until < now),
            )
            .order_by(c.created_at)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
    ).first()
    if row is None:
        return None
    token = uuid_utils.uuid4()
    await conn.execute(
        imports.update()
        .where(c.organisation_id == row.organisation_id, c.id == row.id)
        .values(
            status="running",
            lease_token=token,
            lease_until=now + dt.timedelta(seconds=lease_seconds),
            updated_at=now,
        )
    )
    return await get_row(conn, row.organisation_id, row.id)


async def load_chunk(conn: AsyncConnection, claimed: Any, seq: int) -> tuple[int, bytes] | None:
    """A spooled chunk's first line number and data (None past the last chunk)."""
    ch = import_chunks.c
    chunk = (
        await conn.execute(
            sa.select(ch.first_line, ch.data).where(
                ch.organisation_id == claimed.organisation_id,
                ch.import_id == claimed.id,
                ch.seq == seq,
            )
        )
    ).first()
    return None if chunk is None else (chunk.first_line, chunk.data)


def _still_held(claimed: Any) -> list[sa.ColumnElement[bool]]:
    """The claimed import, while its lease is still the claimer's."""
    return [
        c.organisation_id == claimed.organisation_id,
        c.id == claimed.id,
        c.lease_token == claimed.lease_token,
    ]


async def commit_chunk(
    conn: AsyncConnection,
    claimed: Any,
    seq: int,
    prepared: Prepared,
    *,
    lease_seconds: float,
) -> bool:
    """Write chunk ``seq`` (prepared outside the transaction) with the import's counts and
    position, renewing the lease; True when the import is done. :class:`LeaseLost` if the
    lease has gone, or the import is no longer at this chunk."""
    now = dt.datetime.now(dt.UTC)
    renewed = await conn.execute(
        imports.update()
        .where(*_still_held(claimed), c.next_chunk == seq)
        .values(lease_until=now + dt.timedelta(seconds=lease_seconds))
    )
    if renewed.rowcount != 1:
        raise LeaseLost(str(claimed.id))
    row = await get_row(conn, claimed.organisation_id, claimed.id)
    counts = counts_of(row)
    if prepared:
        counts.add(
            await write_lines(conn, principal_of(row), prepared, mode=row.mode, import_id=row.id)
        )
    ch = import_chunks.c
    await conn.execute(
        import_chunks.delete().where(
            ch.organisation_id == row.organisation_id, ch.import_id == row.id, ch.seq == seq
        )
    )
    done = bool(seq + 1 >= row.chunks)
    await record_progress(
        conn, row, counts, next_chunk=seq + 1, done=done, lease_token=claimed.lease_token
    )
    return done


MAX_FAILURES = 3  # failed attempts in a row at one chunk before the import is failed


async def record_failure(conn: AsyncConnection, claimed: Any, seq: int, exc: Exception) -> bool:
    """A chunk's transaction failed: count it and give the lease back. The import becomes
    ``failed`` (with the reason) after :data:`MAX_FAILURES` in a row; returns whether it did."""
    row = await get_row(conn, claimed.organisation_id, claimed.id)
    if row.lease_token != claimed.lease_token or row.next_chunk != seq:
        return False  # taken over meanwhile
    failures = row.failures + 1
    reason = f"chunk {seq}: {type(exc).__name__}: {exc}"
    values: dict[str, Any] = {
        "failures": failures,
        "failure": reason[:500],
        "lease_token": None,
        "lease_until": None,
        "updated_at": dt.datetime.now(dt.UTC),
    }
    if failures >= MAX_FAILURES:
        values["status"] = "failed"
    await conn.execute(
        imports.update()
        .where(c.organisation_id == row.organisation_id, c.id == row.id)
        .values(**values)
    )
    return bool(failures >= MAX_FAILURES)


async def release(conn: AsyncConnection, claimed: Any) -> None:
    """Give the lease back (a runner stopping mid-import): another may resume at once."""
    await conn.execute(
        imports.update().where(*_still_held(claimed)).values(lease_token=None, lease_until=None)
    )
