"""Group commit for SQLite: many requests' write blocks, one transaction, one fsync.

SQLite has one writer at a time, and with ``synchronous=FULL`` every COMMIT waits for the disk.
One transaction per request would cap intake at one order per fsync. Instead, one writer task
per process owns the write connection and runs the write blocks of concurrent requests one
after another inside a single transaction, each in its own SAVEPOINT:

    BEGIN IMMEDIATE
      SAVEPOINT → request A's block → RELEASE
      SAVEPOINT → request B's block → ROLLBACK TO  (B raised: only B's work is undone)
      SAVEPOINT → request C's block → RELEASE
    COMMIT                       ← A and C return only now, so a 2xx still means "on disk"

Each request still sees the plain contract of ``Database.write()``: its block is committed
when the ``async with`` ends, or rolled back if it raises. Blocks must only do database work
(they hold the writer), and must not open another write block inside (that would wait for
itself).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger("ordergate.db")

# A batch ends when no block is waiting, or at these bounds, so that a steady stream of
# requests cannot postpone the commit (and everyone's response) indefinitely.
MAX_BATCH = 256
MAX_BATCH_SECONDS = 0.05


class _Turn:
    """One request's place in the writer's queue."""

    __slots__ = ("granted", "finished", "committed", "conn")

    def __init__(self) -> None:
        loop = asyncio.get_running_loop()
        self.granted: asyncio.Future[AsyncConnection] = loop.create_future()
        self.finished: asyncio.Future[bool] = loop.create_future()  # True: block succeeded
        self.committed: asyncio.Future[None] = loop.create_future()


def _succeeded(turn: _Turn) -> bool:
    return turn.finished.done() and not turn.finished.cancelled() and turn.finished.result()


class GroupCommitWriter:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._queue: asyncio.Queue[_Turn] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())
        turn = _Turn()
        self._queue.put_nowait(turn)
        try:
            conn = await turn.granted
        except BaseException:
            # Cancelled while queued: if the writer grants us anyway, give the turn back.
            turn.granted.cancel()
            if not turn.finished.done():
                turn.finished.set_result(False)
            raise
        try:
            yield conn
        except BaseException:
            turn.finished.set_result(False)
            raise
        turn.finished.set_result(True)
        await asyncio.shield(turn.committed)

    async def _run(self) -> None:
        while True:
            first = await self._queue.get()
            await self._batch(first)

    async def _batch(self, first: _Turn) -> None:
        done: list[_Turn] = []
        turn: _Turn | None = first
        try:
            async with self._engine.connect() as conn:
                await conn.begin()
                started = time.monotonic()
                while turn is not None:
                    if turn.granted.done():  # its request was cancelled while queued
                        turn = self._next(len(done), started)
                        continue
                    savepoint = await conn.begin_nested()
                    turn.granted.set_result(conn)
                    if await turn.finished:
                        await savepoint.commit()
                        done.append(turn)
                    else:
                        await savepoint.rollback()
                        # Its request already raised; nothing of it is left to commit.
                        turn.committed.set_result(None)
                    turn = self._next(len(done), started)
                await conn.commit()
        except BaseException as exc:
            # Everyone whose block succeeded is waiting for the commit that did not happen.
            waiting = [*done]
            if turn is not None and turn not in done and _succeeded(turn):
                waiting.append(turn)
            error = exc if isinstance(exc, Exception) else RuntimeError("the writer stopped")
            if turn is not None and not turn.granted.done():
                # The batch failed before this block could start (e.g. BEGIN found the
                # database locked past the busy timeout): its request fails instead of waiting.
                turn.granted.set_exception(error)
            for t in waiting:
                if not t.committed.done():
                    t.committed.set_exception(error)
            failed = waiting
            if not isinstance(exc, Exception):
                raise
            log.exception("group commit failed; %d write(s) rolled back", len(failed))
            return
        for t in done:
            t.committed.set_result(None)

    def _next(self, count: int, started: float) -> _Turn | None:
        if count >= MAX_BATCH or time.monotonic() - started > MAX_BATCH_SECONDS:
            return None
        try:
            return self._queue.get_nowait()
        except asyncio.QueueEmpty:
            return None

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
