"""Coalesced intake: the single-order creates of concurrent requests, written together.

Each ``POST /v1/orders`` needs the same few statements (look up the ref, take a number, insert
the order, its items, its tags) and one durable commit. Done per request that is a
round trip per statement and a commit per order. Here one task per process takes every
create that is waiting, runs them through ``orders.create_many`` (a handful of statements
whatever the count) in one transaction, and answers each request after that commit:

    request A ─┐                                   ┌─► A: 201
    request B ─┼─► [A, B, C] ─► create_many ─► COMMIT ─► B: 200 (safe retry)
    request C ─┘                                   └─► C: 409

The batch is simply whatever arrived while the writers were busy: no timer, so a lone
request waits for nothing. A few writers run at once (``WRITERS``), so that one batch's
statements overlap another's commit instead of the process idling on the disk; PostgreSQL
flushes concurrent commits together. A batch that fails unexpectedly (not a conflict: those
are outcomes) is retried one order at a time, so one bad order cannot fail its neighbours.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from ordergate.db import Database
from ordergate.intake import submissions
from ordergate.intake.submissions import Submission
from ordergate.orders import service as orders
from ordergate.orders.errors import OrderRefConflict

log = logging.getLogger("ordergate.intake")

MAX_BATCH = 500
WRITERS = 4


@dataclass(slots=True)
class _Waiting:
    request: orders.NewOrder
    submission: Submission | None
    future: asyncio.Future[orders.Result] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    def settle(self, result: orders.Result | OrderRefConflict | BaseException) -> None:
        if self.future.done():  # the client went away; the order is stored regardless
            return
        if isinstance(result, BaseException):
            self.future.set_exception(result)
        else:
            self.future.set_result(result)


def _submission_row(
    submission: Submission, result: orders.Result | OrderRefConflict
) -> dict[str, Any]:
    if isinstance(result, OrderRefConflict):
        error = {
            "code": result.code,
            "detail": result.detail,
            "existing_id": str(result.existing_id),
            "differences": result.differences,
        }
        return submission.row(
            status_code=409, outcome="conflict", order_ids=[result.existing_id], errors=[error]
        )
    status = 201 if result.outcome == "created" else 200
    return submission.row(status_code=status, outcome=result.outcome, order_ids=[result.order.id])


class CreateCoalescer:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._queue: asyncio.Queue[_Waiting] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []

    async def create(
        self, request: orders.NewOrder, submission: Submission | None = None
    ) -> orders.Result:
        """Create one order; returns once it is committed (raises OrderRefConflict).

        The submission, if given, is recorded with the outcome in the same transaction.
        """
        if len(self._tasks) < WRITERS or any(t.done() for t in self._tasks):
            # Started on first use (inside the running loop); a writer that died is replaced.
            loop = asyncio.get_running_loop()
            alive = [t for t in self._tasks if not t.done()]
            self._tasks = alive + [
                loop.create_task(self._run()) for _ in range(WRITERS - len(alive))
            ]
        waiting = _Waiting(request, submission)
        self._queue.put_nowait(waiting)
        return await waiting.future

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            await self._write(batch)

    async def _write(self, batch: list[_Waiting]) -> None:
        try:
            async with self._db.write() as conn:
                results = await orders.create_many(conn, [w.request for w in batch])
                await submissions.record(
                    conn,
                    [
                        _submission_row(w.submission, result)
                        for w, result in zip(batch, results, strict=True)
                        if w.submission is not None
                    ],
                )
        except Exception as exc:
            if len(batch) == 1:
                batch[0].settle(exc)
                return
            log.warning("a batch of %d creates failed; retrying them one by one", len(batch))
            for w in batch:
                await self._write([w])
            return
        for w, result in zip(batch, results, strict=True):
            if w.submission is not None:
                w.submission.recorded = True
            w.settle(result)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        while not self._queue.empty():
            self._queue.get_nowait().settle(RuntimeError("ordergate is shutting down"))
