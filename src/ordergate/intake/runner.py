"""The import runner: processes queued imports chunk by chunk, in the background.

One loop per process, beside the webhook dispatcher (inside ``ordergate serve`` unless
``ORDERGATE_RUN_DISPATCHER=false``, and in each ``ordergate worker``). It leases one import at
a time (``FOR UPDATE SKIP LOCKED`` on PostgreSQL) and renews the lease with every chunk, in
the chunk's own transaction; a runner that dies leaves the lease to expire, and another one
(or the same process, restarted) resumes at the first chunk not yet committed.

Stopping (SIGTERM): the chunk being written is finished, and the lease is given back at once,
so another runner resumes the import without waiting for the lease to expire. A chunk that
could not be read or validated (the validation processes died, say) gives the lease back too,
and counts as a failure of that chunk, like a chunk whose transaction failed.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import logging
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from ordergate.db import Database
from ordergate.intake import imports
from ordergate.settings import Settings

log = logging.getLogger("ordergate.imports")


class ImportRunner:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self._stopping = False
        self._wake = asyncio.Event()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    def wake(self) -> None:
        """A new import is queued: look now rather than at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        while not self._stopping:
            try:
                worked = await self.run_one()
            except Exception:
                log.exception("import runner failed; retrying shortly")
                worked = False
            if worked or self._stopping:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.webhook_poll_seconds)

    async def _prepare(self, claimed: Any, seq: int) -> imports.Prepared:
        async with self.db.read() as conn:
            chunk = await imports.load_chunk(conn, claimed, seq)
        if chunk is None:
            return []
        first_line, data = chunk
        return await imports.prepare_elsewhere(data, first_line, self.settings.import_processes)

    async def run_one(self) -> bool:
        """Lease an import and process it to the end (or until stopped). False if none."""
        lease = self.settings.import_lease_seconds
        async with self.db.write() as conn:
            claimed = await imports.claim(conn, now=dt.datetime.now(dt.UTC), lease_seconds=lease)
        if claimed is None:
            return False
        log.info(
            "import %s: running from chunk %d of %d", claimed.id, claimed.next_chunk, claimed.chunks
        )
        # While chunk k is written, the next ones are read and validated: one per validation
        # process (ORDERGATE_IMPORT_PROCESSES), so that none of them waits for the writer.
        seq = claimed.next_chunk
        depth = max(self.settings.import_processes, 1)
        upcoming: collections.deque[asyncio.Task[imports.Prepared]] = collections.deque()
        queued = seq

        def fill() -> None:
            nonlocal queued
            while len(upcoming) < depth and queued < max(claimed.chunks, seq + 1):
                upcoming.append(asyncio.create_task(self._prepare(claimed, queued)))
                queued += 1

        fill()
        try:
            while not self._stopping:
                try:
                    prepared = await upcoming.popleft()
                except Exception as exc:
                    if isinstance(exc, BrokenProcessPool):
                        imports.shutdown_pool()  # the next chunk gets fresh processes
                    if self._stopping:
                        break  # given back below; the failure came with the shutdown
                    log.exception("import %s: chunk %d could not be prepared", claimed.id, seq)
                    await self._record_failure(claimed, seq, exc)
                    return True
                fill()
                try:
                    async with self.db.write() as conn:
                        done = await imports.commit_chunk(
                            conn, claimed, seq, prepared, lease_seconds=lease
                        )
                except imports.LeaseLost:
                    log.warning("import %s was taken over by another runner", claimed.id)
                    return True
                except Exception as exc:
                    # Rolled back: nothing of the chunk is stored. Retried at once by the next
                    # claim; after MAX_FAILURES in a row on the same chunk the import fails.
                    log.exception("import %s: chunk %d failed", claimed.id, seq)
                    await self._record_failure(claimed, seq, exc)
                    return True
                if done:
                    log.info("import %s: completed", claimed.id)
                    return True
                seq += 1
        finally:
            for task in upcoming:
                task.cancel()
            for task in upcoming:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        async with self.db.write() as conn:
            await imports.release(conn, claimed)
        log.info("import %s: stopped; given back at chunk %d", claimed.id, seq)
        return True

    async def _record_failure(self, claimed: Any, seq: int, exc: Exception) -> None:
        """Count a failed chunk and give the lease back (the import fails after a few)."""
        async with self.db.write() as conn:
            failed = await imports.record_failure(conn, claimed, seq, exc)
        if failed:
            log.error("import %s failed on chunk %d", claimed.id, seq)
