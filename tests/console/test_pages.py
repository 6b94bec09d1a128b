"""Console pages over httpx (both engines): what each key may see and do, tenant isolation,
search and paging, and the number of queries a page costs."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event

from ordergate.console import dashboard
from ordergate.orders import store
from tests import factories
from tests.conftest import Tenant, add_key
from tests.console.helpers import page_token, sign_in


async def _create(client: httpx.AsyncClient, tenant: Tenant, **fields: Any) -> dict[str, Any]:
    r = await client.post("/v1/orders", json=factories.order(**fields), headers=tenant.headers)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def _refs(html: str) -> list[str]:
    return re.findall(r'<a href="/console/orders/[0-9a-f-]{36}">([^<]+)</a>', html)


async def test_a_read_only_key_sees_no_actions_and_a_forged_post_is_403(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    order = await _create(client, tenant)
    await sign_in(client, await add_key(app, tenant, scopes=["orders:read"]))
    page = await client.get(f"/console/orders/{order['id']}")
    assert page.status_code == 200
    assert "Cancel order" not in page.text
    assert "/fulfil" not in page.text
    token = await page_token(client, "/console")  # the sign-out form's token is the session's
    r = await client.post(
        f"/console/orders/{order['id']}/cancel", data={"csrf_token": token, "reason": "fraud"}
    )
    assert r.status_code == 403
    assert "orders:write" in r.text
    r = await client.get(f"/v1/orders/{order['id']}", headers=tenant.headers)
    assert r.json()["status"] == "unfulfilled"


async def test_another_organisations_order_is_not_found(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs = await _create(client, other_tenant)
    await sign_in(client, tenant.token)
    assert (await client.get(f"/console/orders/{theirs['id']}")).status_code == 404
    token = await page_token(client, "/console")
    r = await client.post(
        f"/console/orders/{theirs['id']}/cancel", data={"csrf_token": token, "reason": "fraud"}
    )
    assert r.status_code == 404
    assert (await client.get(f"/console/orders?ref={theirs['order_ref']}")).text.count(
        theirs["order_ref"]
    ) == 1  # in the search box only, not as a result
    r = await client.get(f"/v1/orders/{theirs['id']}", headers=other_tenant.headers)
    assert r.json()["status"] == "unfulfilled"


async def test_cancelling_in_the_console_adds_a_history_entry(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    order = await _create(client, tenant)
    await sign_in(client, tenant.token)
    path = f"/console/orders/{order['id']}"
    token = await page_token(client, path)
    r = await client.post(
        f"{path}/cancel", data={"csrf_token": token, "reason": "customer", "note": "Rang up"}
    )
    assert r.status_code == 303
    assert r.headers["location"] == f"{path}?done=cancelled"
    page = await client.get(r.headers["location"])
    assert "The order was cancelled." in page.text
    assert "<strong>Cancelled</strong>" in page.text
    assert "Rang up" in page.text
    assert "Cancel order" not in page.text  # final: no more actions
    history = (await client.get(f"/v1/orders/{order['id']}/history", headers=tenant.headers)).json()
    assert [e["kind"] for e in history["data"]] == ["created", "cancelled"]
    assert history["data"][1]["key_id"] == tenant.key.key_id
    # Cancelling again is a lifecycle conflict, shown as a page.
    r = await client.post(f"{path}/cancel", data={"csrf_token": token, "reason": "customer"})
    assert r.status_code == 409


async def test_fulfilling_in_the_console_records_the_tracking(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    order = await _create(client, tenant)
    await sign_in(client, tenant.token)
    token = await page_token(client, f"/console/orders/{order['id']}")
    r = await client.post(
        f"/console/orders/{order['id']}/fulfil",
        data={"csrf_token": token, "carrier": "DHL", "tracking_number": "JD0001"},
    )
    assert r.status_code == 303
    stored = (await client.get(f"/v1/orders/{order['id']}", headers=tenant.headers)).json()
    assert stored["status"] == "fulfilled"
    assert stored["fulfillments"][0]["tracking"]["number"] == "JD0001"


async def test_the_order_page_shows_the_raw_submission(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    order = await _create(client, tenant, message={"type": "gift", "text": "<b>hi</b>"})
    await sign_in(client, tenant.token)
    page = await client.get(f"/console/orders/{order['id']}")
    assert "POST /v1/orders" in page.text
    assert "&lt;b&gt;hi&lt;/b&gt;" in page.text  # escaped, never markup
    assert "<b>hi</b>" not in page.text


async def test_search_by_each_filter(client: httpx.AsyncClient, tenant: Tenant) -> None:
    a = await _create(
        client,
        tenant,
        customer={"email": "Ada@Example.com"},
        tags=["vip"],
        items=[factories.item(sku="TEA-1")],
    )
    b = await _create(client, tenant)
    await sign_in(client, tenant.token)
    today = dt.datetime.now(dt.UTC).date()

    async def found(query: str) -> list[str]:
        r = await client.get(f"/console/orders?{query}")
        assert r.status_code == 200, r.text
        return _refs(r.text)

    both = sorted([a["order_ref"], b["order_ref"]])
    assert await found(f"ref={a['order_ref']}") == [a["order_ref"]]
    assert await found(f"number={b['number']}") == [b["order_ref"]]
    assert await found("email=ada%40example.com") == [a["order_ref"]]
    assert await found("sku=TEA-1") == [a["order_ref"]]
    assert await found("tag=vip") == [a["order_ref"]]
    assert sorted(await found("status=unfulfilled")) == both
    assert await found("status=cancelled") == []
    assert sorted(await found("dialect=api")) == both
    assert await found("dialect=reevoo") == []
    assert sorted(await found(f"from={today}&to={today}")) == both
    assert await found(f"to={today - dt.timedelta(days=1)}") == []
    assert await found(f"q={b['number']}") == [b["order_ref"]]
    assert await found("q=ada%40example.com") == [a["order_ref"]]
    r = await client.get(f"/console/orders?q={a['id']}")
    assert r.status_code == 303
    assert r.headers["location"] == f"/console/orders/{a['id']}"
    r = await client.get("/console/orders?from=yesterday&number=12a")
    assert "enter a date" in r.text
    assert "digits only" in r.text


async def test_keyset_pages_cover_every_order_once(
    client: httpx.AsyncClient, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ordergate.console import orders as console_orders

    monkeypatch.setattr(console_orders, "PAGE_SIZE", 2)
    refs = [(await _create(client, tenant, tags=["paged"]))["order_ref"] for _ in range(5)]
    await sign_in(client, tenant.token)
    seen: list[str] = []
    url: str | None = "/console/orders?tag=paged"
    while url:
        r = await client.get(url)
        seen += _refs(r.text)
        match = re.search(r'<a rel="next" href="([^"]+)"', r.text)
        url = match.group(1).replace("&amp;", "&") if match else None
    assert seen == list(reversed(refs))


async def test_webhook_pages_need_webhooks_manage(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await sign_in(client, await add_key(app, tenant, scopes=["orders:read"]))
    assert (await client.get("/console/webhooks")).status_code == 403
    assert (await client.get("/console/webhooks/failed")).status_code == 403
    token = await page_token(client, "/console")
    r = await client.post(
        "/console/webhooks/01900000-0000-7000-8000-000000000000/deliveries/"
        "01900000-0000-7000-8000-000000000001/retry",
        data={"csrf_token": token},
    )
    assert r.status_code == 403


async def test_an_import_page_shows_counts_and_line_errors(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = b'{"order_ref": "I-1", "items": [{"sku": "A"}]}\n{"order_ref": "I-2"}\nnot json\n'
    r = await client.post(
        "/v1/imports",
        content=body,
        headers={**tenant.headers, "Content-Type": "application/x-ndjson"},
    )
    assert r.status_code == 202, r.text
    import_id = r.json()["id"]
    await sign_in(client, tenant.token)
    listing = await client.get("/console/imports")
    assert f"/console/imports/{import_id}" in listing.text
    page = await client.get(f"/console/imports/{import_id}")
    assert page.status_code == 200
    # No runner in these tests' apps: the import waits, and the page asks for updates.
    assert f'data-poll="/console/imports/{import_id}/progress"' in page.text
    part = await client.get(f"/console/imports/{import_id}/progress")
    assert 'data-status="queued"' in part.text
    assert "<html" not in part.text


async def test_pages_have_the_security_headers(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await sign_in(client, tenant.token)
    r = await client.get("/console/orders")
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["cache-control"] == "no-store"
    assert (await client.get("/console/static/console.css")).status_code == 200


@contextmanager
def counting_queries(app: FastAPI) -> Iterator[list[str]]:
    statements: list[str] = []
    engines = {app.state.db.read_engine.sync_engine, app.state.db.write_engine.sync_engine}

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "PRAGMA")):
            statements.append(statement)

    for engine in engines:
        event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", count)


async def test_each_page_is_a_few_queries_whatever_the_data(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    order = await _create(client, tenant)
    for _ in range(3):
        r = await client.patch(
            f"/v1/orders/{order['id']}",
            json={"tags": [factories.order_ref()]},
            headers=tenant.headers,
        )
        assert r.status_code == 200
    await sign_in(client, tenant.token)
    await client.get("/console")  # fills the dashboard's per-day figures
    await dashboard.settled()
    budgets = {
        "/console": 2,  # session: the key (the organisation's secret is kept in memory)
        "/console/orders": 2,
        f"/console/orders/{order['id']}": 7,
        "/console/imports": 2,
        "/console/webhooks": 4,
    }
    for path, budget in budgets.items():
        with counting_queries(app) as statements:
            r = await client.get(path)
        assert r.status_code == 200
        assert len(statements) <= budget, (path, statements)
        assert not any("count(" in s.lower() and "group by" not in s.lower() for s in statements)


async def test_a_slow_count_does_not_hold_the_dashboard_up(
    client: httpx.AsyncClient, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 1M orders the first count of 14 days takes seconds: the page shows what it has
    at once, says it is counting, and reloads itself until the figures are there."""
    await _create(client, tenant)
    await sign_in(client, tenant.token)
    real = store.count_by_via

    async def slow(*args: Any, **kwargs: Any) -> dict[str, int]:
        await asyncio.sleep(0.05)
        return await real(*args, **kwargs)

    monkeypatch.setattr(store, "count_by_via", slow)  # 14 days: 0.7 s in all
    began = time.monotonic()
    first = await client.get("/console")
    assert time.monotonic() - began < 0.5
    assert first.status_code == 200
    assert "Counting" in first.text
    assert '<meta http-equiv="refresh"' in first.text
    await dashboard.settled()
    second = await client.get("/console")
    assert "Counting" not in second.text
    assert '<meta http-equiv="refresh"' not in second.text
    assert "<svg" in second.text
