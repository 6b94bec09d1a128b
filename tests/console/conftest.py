"""The console's browser tests: a real `ordergate serve` process and headless Chromium.

Chromium is Debian's (`make test` installs it when it can); Playwright drives it through
``executable_path``, never with browsers of its own. Without it the browser tests are
skipped with the reason, except under CI (CI=true), where they must run.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from ordergate import db as dbm
from ordergate.db import Database
from ordergate.tenancy import service as tenancy

CHROMIUM = os.environ.get("ORDERGATE_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
PHASE_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    item.stash.setdefault(PHASE_REPORTS, {})[report.when] = report
    return report


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "the Python package playwright is not installed (make test installs it)"
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} is missing (make test installs Debian's chromium when run as root)"
    return None


@pytest.fixture(scope="session")
def chromium() -> str:
    reason = browser_missing()
    if reason is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"the console's browser tests must run under CI, but {reason}")
        pytest.skip(f"console browser tests skipped: {reason}")
    return CHROMIUM


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    base_url: str
    database_url: str
    token: str  # every scope
    read_only_token: str  # orders:read only
    log: Path


async def _tenant(url: str) -> tuple[str, str]:
    database = Database(url)
    try:
        async with database.write() as conn:
            await tenancy.create_organisation(conn, "CONSOLE")
            full = await tenancy.create_key(conn, "CONSOLE")
            read_only = await tenancy.create_key(conn, "CONSOLE", ["orders:read"])
    finally:
        await database.dispose()
    return full.token, read_only.token


@pytest.fixture(scope="module")
def console_server(chromium: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`ordergate serve` on a fresh SQLite database and a free port, without background jobs
    (the tests run the dispatcher and the import runner themselves, when they want them).
    One per module: the tests in it use distinct orders, and starting a server takes seconds."""
    tmp_path = tmp_path_factory.mktemp("console")
    url = f"sqlite+aiosqlite:///{tmp_path / 'console.db'}"
    dbm.migrate_sync(url)
    token, read_only = asyncio.run(_tenant(url))
    port = _free_port()
    env = {
        **os.environ,
        "ORDERGATE_DATABASE_URL": url,
        "ORDERGATE_RUN_DISPATCHER": "false",
        "ORDERGATE_WEBHOOK_ALLOW_PRIVATE": "true",
        "ORDERGATE_IMPORT_CHUNK_BYTES": "1024",
        "ORDERGATE_LIST_SETTLE_SECONDS": "0",
    }
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ordergate",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"ordergate serve did not start:\n{log.read_text()}")
            time.sleep(0.1)
        yield Server(base, url, token, read_only, log)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
async def page(
    chromium: str, console_server: Server, request: pytest.FixtureRequest
) -> AsyncIterator[Any]:
    """A Chromium page; when the test fails, a screenshot of the page it was on and of every
    console page goes to tests/artifacts/."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        # --no-sandbox: Chromium's sandbox cannot run as root (CI containers).
        browser = await pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        context = await browser.new_context(viewport={"width": 1280, "height": 900})
        tab = await context.new_page()
        tab.set_default_timeout(15_000)
        try:
            yield tab
        finally:
            reports = request.node.stash.get(PHASE_REPORTS, {})
            if any(r.failed for r in reports.values()):
                await _screenshots(tab, console_server, request.node.name)
            await browser.close()


async def _screenshots(tab: Any, server: Server, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)
    try:
        await tab.screenshot(path=ARTIFACTS / f"{safe}-failed-here.png", full_page=True)
        for label in ("", "orders", "imports", "webhooks"):
            await tab.goto(f"{server.base_url}/console/{label}".rstrip("/"))
            shot = ARTIFACTS / f"{safe}-{label or 'dashboard'}.png"
            await tab.screenshot(path=shot, full_page=True)
    except Exception as exc:  # the failure being reported matters more than its pictures
        print(f"could not save screenshots: {exc}", file=sys.stderr)
