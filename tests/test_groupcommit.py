"""SQLite group commit: concurrent write blocks share commits, and each block still commits
or rolls back on its own."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from ordergate import db as dbm
from ordergate.db import Database, counters


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'gc.db'}"
    await dbm.migrate(url)
    database = Database(url)
    yield database
    await database.dispose()


async def _insert(conn: Any, org: uuid.UUID, name: str) -> None:
    await conn.execute(counters.insert().values(organisation_id=org, name=name, value=1))


async def _names(database: Database, org: uuid.UUID) -> set[str]:
    async with database.read() as conn:
        rows = await conn.execute(
            sa.select(counters.c.name).where(counters.c.organisation_id == org)
        )
        return {r[0] for r in rows}


async def test_concurrent_blocks_commit_in_fewer_transactions_than_blocks(
    sqlite_db: Database,
) -> None:
    commits = 0

    def count(_conn: Any) -> None:
        nonlocal commits
        commits += 1

    event.listen(sqlite_db.write_engine.sync_engine, "commit", count)
    org = uuid.uuid4()

    async def one(i: int) -> None:
        async with sqlite_db.write() as conn:
            await _insert(conn, org, f"n{i}")

    await asyncio.gather(*(one(i) for i in range(50)))
    assert await _names(sqlite_db, org) == {f"n{i}" for i in range(50)}
    assert 1 <= commits < 50


async def test_a_failing_block_rolls_back_only_its_own_work(sqlite_db: Database) -> None:
    org = uuid.uuid4()

    async def one(i: int) -> None:
        async with sqlite_db.write() as conn:
            await _insert(conn, org, f"n{i}")
            if i % 3 == 0:
                raise ValueError(i)

    results = await asyncio.gather(*(one(i) for i in range(12)), return_exceptions=True)
    failed = {i for i, r in enumerate(results) if isinstance(r, ValueError)}
    assert failed == {0, 3, 6, 9}
    assert await _names(sqlite_db, org) == {f"n{i}" for i in range(12) if i % 3}


async def test_a_block_that_hits_a_constraint_does_not_poison_the_batch(
    sqlite_db: Database,
) -> None:
    org = uuid.uuid4()

    async def one(name: str) -> None:
        async with sqlite_db.write() as conn:
            await _insert(conn, org, name)

    results = await asyncio.gather(
        one("a"), one("dup"), one("dup"), one("b"), return_exceptions=True
    )
    assert sum(isinstance(r, sa.exc.IntegrityError) for r in results) == 1
    assert await _names(sqlite_db, org) == {"a", "dup", "b"}


async def test_the_block_is_durable_when_it_ends(sqlite_db: Database) -> None:
    org = uuid.uuid4()
    async with sqlite_db.write() as conn:
        await _insert(conn, org, "x")
    # another engine (another process would do the same) sees it at once
    other = Database(sqlite_db.url)
    try:
        assert await _names(other, org) == {"x"}
    finally:
        await other.dispose()


async def test_a_cancelled_request_leaves_nothing_and_blocks_nobody(sqlite_db: Database) -> None:
    org = uuid.uuid4()
    gate = asyncio.Event()

    async def slow() -> None:
        async with sqlite_db.write() as conn:
            await _insert(conn, org, "slow")
            await gate.wait()

    async def quick(name: str) -> None:
        async with sqlite_db.write() as conn:
            await _insert(conn, org, name)

    slow_task = asyncio.create_task(slow())
    await asyncio.sleep(0.05)
    queued = asyncio.create_task(quick("cancelled"))
    later = asyncio.create_task(quick("later"))
    await asyncio.sleep(0.05)
    queued.cancel()
    slow_task.cancel()
    await asyncio.gather(slow_task, queued, return_exceptions=True)
    await asyncio.wait_for(later, 30)
    assert await _names(sqlite_db, org) == {"later"}


async def test_a_batch_that_cannot_begin_fails_its_request_instead_of_hanging(
    sqlite_db: Database, tmp_path: Path
) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    writer = sqlite_db._writer
    assert writer is not None
    good_engine = writer._engine
    writer._engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path}/missing/dir/x.db")
    try:
        with pytest.raises(sa.exc.OperationalError):
            async with asyncio.timeout(5), sqlite_db.write() as conn:
                await _insert(conn, uuid.uuid4(), "never")
    finally:
        await writer._engine.dispose()
        writer._engine = good_engine
    org = uuid.uuid4()
    async with sqlite_db.write() as conn:  # the writer recovers for the next request
        await _insert(conn, org, "after")
    assert await _names(sqlite_db, org) == {"after"}
