"""The console in headless Chromium against a real `ordergate serve` (SQLite): sign in,
search an order, open it, cancel it and see the history entry appear, retry a failed
delivery, watch an import progress; and the pages on a phone-sized screen."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from ordergate.db import Database
from ordergate.events.dispatcher import Dispatcher
from ordergate.intake.runner import ImportRunner
from tests import factories
from tests.conftest import make_settings
from tests.console.conftest import Server
from tests.events.receiver import Receiver

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@asynccontextmanager
async def running(job: type[Dispatcher] | type[ImportRunner], url: str) -> AsyncIterator[None]:
    """A dispatcher or an import runner on the server's database, as `ordergate worker`."""
    settings = make_settings(
        url,
        webhook_allow_private=True,
        webhook_max_attempts=1,
        webhook_poll_seconds=0.05,
        import_processes=0,
    )
    database = Database(url, pool_size=2)
    worker = job(database, settings)
    task = asyncio.create_task(worker.run())
    try:
        yield
    finally:
        worker.stop()
        await task
        await database.dispose()


async def _sign_in(page: Any, server: Server, token: str) -> None:
    await page.goto(f"{server.base_url}/console")
    await page.get_by_label("API key").fill(token)
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("heading", name="Dashboard").wait_for()


async def _reload_until(page: Any, text: str, within: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while await page.get_by_text(text).count() == 0:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{text!r} never appeared on {page.url}")
        await asyncio.sleep(0.2)
        await page.reload()


async def test_an_operator_finds_an_order_cancels_it_and_retries_its_delivery(
    page: Any, console_server: Server
) -> None:
    server = console_server
    api = httpx.AsyncClient(
        base_url=server.base_url, headers={"Authorization": f"Bearer {server.token}"}
    )
    healthy = False
    with Receiver(SECRET, answer=lambda r: 200 if healthy else 500) as receiver:
        r = await api.post("/v1/webhooks", json={"url": receiver.url, "secret": SECRET})
        assert r.status_code == 201, r.text
        body = factories.full_order()
        r = await api.post("/v1/orders", json=body)
        assert r.status_code == 201, r.text
        order = r.json()
        await api.aclose()

        async with running(Dispatcher, server.database_url):
            await _sign_in(page, server, server.token)
            assert await page.locator("svg.chart").count() == 1

            await page.get_by_role("link", name="Orders").click()
            await page.get_by_label("Search").fill(body["order_ref"])
            await page.get_by_role("button", name="Search").click()
            await page.get_by_role("link", name=body["order_ref"]).click()
            await page.get_by_role(
                "heading", name=re.compile(f"Order {order['number']}")
            ).wait_for()
            assert await page.get_by_text("john@example.com").count() >= 1
            assert await page.get_by_text("1 High St").count() >= 1

            page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
            await page.get_by_label("Reason").select_option("customer")
            await page.get_by_label("Note (optional)").fill("Customer rang to cancel")
            await page.get_by_role("button", name="Cancel order").click()
            await page.get_by_text("The order was cancelled.").wait_for()
            timeline = page.locator("ol.timeline > li")
            assert await timeline.count() == 2
            assert "Cancelled" in await timeline.nth(1).inner_text()
            assert "Customer rang to cancel" in await timeline.nth(1).inner_text()

            # The receiver answered 500 and the delivery had one attempt: it failed.
            await page.goto(f"{server.base_url}/console/webhooks/failed")
            await _reload_until(page, "order.created")
            healthy = True
            await page.get_by_role(
                "button", name=re.compile("Retry delivery of order.created")
            ).click()
            await page.get_by_text("The delivery was queued for another attempt.").wait_for()
            for _ in range(100):
                if any(
                    r.answered == 200 and r.event["type"] == "order.created"
                    for r in receiver.requests
                ):
                    break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("the retried delivery never arrived")
            await page.goto(f"{server.base_url}/console/orders/{order['id']}")
            await _reload_until(page, "succeeded")


async def test_an_import_progresses_without_a_reload(page: Any, console_server: Server) -> None:
    server = console_server
    lines = [factories.order(ref=f"IMP-{n}") for n in range(300)]
    ndjson = "\n".join(json.dumps(line) for line in lines)
    ndjson += '\n{"order_ref": "BROKEN"}\nnot json at all\n'
    async with httpx.AsyncClient(base_url=server.base_url) as api:
        r = await api.post(
            "/v1/imports",
            content=ndjson.encode(),
            headers={
                "Authorization": f"Bearer {server.token}",
                "Content-Type": "application/x-ndjson",
            },
        )
    assert r.status_code == 202, r.text

    await _sign_in(page, server, server.token)
    await page.get_by_role("link", name="Imports").click()
    await page.locator("table.list a").first.click()
    progress = page.locator("#import-progress")
    assert await progress.locator("[data-status]").get_attribute("data-status") == "queued"
    await page.evaluate("window.__sameDocument = true")

    async with running(ImportRunner, server.database_url):
        await progress.locator('[data-status="completed"]').wait_for(timeout=60_000)
    assert await page.evaluate("window.__sameDocument") is True  # no reload happened
    assert await progress.locator('[data-count="created"]').inner_text() == "300"
    assert await progress.locator('[data-count="invalid"]').inner_text() == "2"
    rows = progress.locator("section[aria-labelledby=line-errors] tbody tr")
    assert await rows.count() == 2
    assert [await rows.nth(i).locator("td").first.inner_text() for i in range(2)] == ["301", "302"]


async def test_pages_fit_a_phone_and_every_field_has_a_label(
    page: Any, console_server: Server
) -> None:
    server = console_server
    async with httpx.AsyncClient(base_url=server.base_url) as api:
        r = await api.post(
            "/v1/orders",
            json=factories.full_order(),
            headers={"Authorization": f"Bearer {server.token}"},
        )
    order = r.json()
    await page.set_viewport_size({"width": 390, "height": 844})
    await _sign_in(page, server, server.read_only_token)
    for path in (
        "/console",
        "/console/orders",
        f"/console/orders/{order['id']}",
        "/console/imports",
    ):
        await page.goto(server.base_url + path)
        overflow = await page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1, (path, overflow)
        unlabelled = await page.evaluate(
            """[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
               .filter(el => el.labels.length === 0 && !el.getAttribute('aria-label'))
               .map(el => el.name)"""
        )
        assert unlabelled == [], (path, unlabelled)
    # A read-only key is offered no actions.
    await page.goto(f"{server.base_url}/console/orders/{order['id']}")
    assert await page.get_by_role("button", name="Cancel order").count() == 0
