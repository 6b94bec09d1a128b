"""Real ``ordergate`` processes for the system tests, and what the tests share.

Every process is started in a session of its own, with its output in a log file beside the
test, and is killed (its whole process group) when the test leaves the ``started`` block,
whatever happened. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from ordergate.db import Database
from ordergate.tenancy import service as tenancy

# Background loops look for work often, so that tests wait for nothing.
FAST_ENV = {
    "ORDERGATE_WEBHOOK_ALLOW_PRIVATE": "true",
    "ORDERGATE_WEBHOOK_POLL_SECONDS": "0.05",
    "ORDERGATE_WEBHOOK_BACKOFF_SECONDS": "0.1",
    "ORDERGATE_LIST_SETTLE_SECONDS": "0",
    "ORDERGATE_IMPORT_PROCESSES": "0",
    "ORDERGATE_DB_POOL_SIZE": "8",
    "ORDERGATE_LOG_LEVEL": "info",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    port: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def signal(self, sig: int, *, group: bool = False) -> None:
        if group:
            os.killpg(self.popen.pid, sig)
        else:
            self.popen.send_signal(sig)

    def exited_within(self, seconds: float) -> int:
        """The exit status; fails the test if the process is still running after ``seconds``."""
        try:
            return self.popen.wait(seconds)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"{self.name} still running {seconds} s after the signal:\n{self.output[-3000:]}"
            ) from None

    async def ready(self, within: float = 40) -> None:
        """Serve: /healthz answers. Worker: its dispatcher has started."""
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(timeout=2) as client:
            while True:
                assert self.popen.poll() is None, f"{self.name} exited:\n{self.output[-3000:]}"
                if self.port is None:
                    if "dispatcher started" in self.output:
                        return
                else:
                    try:
                        if (await client.get(f"{self.url}/healthz")).status_code == 200:
                            return
                    except httpx.TransportError:
                        pass
                assert time.monotonic() < deadline, f"{self.name} not ready:\n{self.output}"
                await asyncio.sleep(0.05)


@contextmanager
def started(
    kind: str,
    database_url: str,
    tmp_path: Path,
    *,
    name: str | None = None,
    port: int | None = None,
    args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
) -> Iterator[Proc]:
    """``ordergate serve`` (on ``port``, a free one if None) or ``ordergate worker``."""
    name = name or kind
    if kind == "serve":
        port = port or free_port()
        args = ("--port", str(port), *args)
    log = tmp_path / f"{name}.log"
    full_env = {**os.environ, **FAST_ENV, "ORDERGATE_DATABASE_URL": database_url, **(env or {})}
    with log.open("ab") as out:
        popen = subprocess.Popen(
            [sys.executable, "-m", "ordergate", kind, *args],
            env=full_env,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: killed whole at the end
        )
    proc = Proc(name, popen, log, port if kind == "serve" else None)
    try:
        yield proc
    finally:
        if popen.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(popen.pid, signal.SIGKILL)
            popen.wait(10)


@dataclass
class Key:
    key_id: str
    token: str
    organisation_id: Any

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def make_key(database_url: str, trkref: str | None = None) -> Key:
    """An API key with every scope; its organisation is created if ``trkref`` is None."""
    db = Database(database_url, pool_size=1)
    try:
        async with db.write() as conn:
            if trkref is None:
                trkref = "SYS" + os.urandom(4).hex().upper()
                await tenancy.create_organisation(conn, trkref)
            new = await tenancy.create_key(conn, trkref)
    finally:
        await db.dispose()
    return Key(new.key_id, new.token, new.organisation.id)


async def eventually(check: Callable[[], Any], within: float = 30, what: str = "") -> Any:
    deadline = time.monotonic() + within
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.05)


def order_body(ref: str, items: int) -> dict[str, Any]:
    """An order with ``items`` lines (distinct SKUs), so a partial write would show."""
    return {
        "order_ref": ref,
        "currency": "GBP",
        "customer": {"email": "ada@example.com"},
        "items": [
            {"sku": f"{ref}-SKU-{i}", "quantity": i + 1, "unit_price": "4.50"} for i in range(items)
        ],
        "tags": ["system-test"],
    }


async def feed(client: httpx.AsyncClient, base: str, key: Key) -> list[dict[str, Any]]:
    """The organisation's whole event feed (bounded: at most 50 pages)."""
    events: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(50):
        params = {"limit": "1000", **({"after": cursor} if cursor else {})}
        r = await client.get(f"{base}/v1/events", params=params, headers=key.headers)
        assert r.status_code == 200, r.text
        page = r.json()
        events += page["data"]
        if not page["data"]:
            return events
        cursor = page["next_cursor"]
    raise AssertionError("the feed did not end within 50 pages")
