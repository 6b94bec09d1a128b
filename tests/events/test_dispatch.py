"""Webhook delivery end to end: a real receiver on 127.0.0.1 verifies every signature with the
public Standard Webhooks algorithm; dispatchers run as in production (their own database
connections, the real loop), on both engines."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from ordergate.app import create_app
from ordergate.db import Database
from ordergate.events.dispatcher import Dispatcher, Refused, pinned_request
from ordergate.events.tables import webhook_deliveries
from ordergate.settings import Settings
from tests.conftest import Tenant, make_settings, make_tenant
from tests.events.receiver import HANG, Receiver
from tests.factories import order

SECRET = "whsec_" + base64.b64encode(b"receiver-secret-0123456789abcdef").decode()

# Short schedules: retries after 50 ms, 100 ms, 200 ms, ...
FAST = {
    "webhook_allow_private": True,
    "webhook_backoff_seconds": 0.05,
    "webhook_backoff_factor": 2,
    "webhook_poll_seconds": 0.02,
    "webhook_timeout_seconds": 2,
    "webhook_lease_seconds": 5,
}


def fast_settings(url: str, **overrides: Any) -> Settings:
    return make_settings(url, **{**FAST, **overrides})


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
        await asyncio.sleep(0.02)


@asynccontextmanager
async def api(url: str) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient, Tenant]]:
    """The HTTP API on ``url`` (no dispatcher inside) with a fresh tenant."""
    app = create_app(make_settings(url, webhook_allow_private=True))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield app, client, await make_tenant(app)


@asynccontextmanager
async def dispatching(settings: Settings, count: int = 1) -> AsyncIterator[list[Dispatcher]]:
    """``count`` dispatchers, each with its own connections, as separate workers would be."""
    databases = [Database(settings.database_url, pool_size=4) for _ in range(count)]
    dispatchers = [Dispatcher(db, settings) for db in databases]
    tasks = [asyncio.create_task(d.run()) for d in dispatchers]
    try:
        yield dispatchers
    finally:
        for d in dispatchers:
            d.stop()
        await asyncio.gather(*tasks)
        for db in databases:
            await db.dispose()


async def add_endpoint(
    client: httpx.AsyncClient, tenant: Tenant, url: str, **fields: Any
) -> dict[str, Any]:
    body = {"url": url, "secret": SECRET, **fields}
    r = await client.post("/v1/webhooks", json=body, headers=tenant.headers)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def create_order(client: httpx.AsyncClient, tenant: Tenant, ref: str) -> dict[str, Any]:
    r = await client.post("/v1/orders", json=order(ref=ref), headers=tenant.headers)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def patch_order(
    client: httpx.AsyncClient, tenant: Tenant, order_id: str, message: str
) -> None:
    r = await client.patch(
        f"/v1/orders/{order_id}", json={"metadata": {"note": message}}, headers=tenant.headers
    )
    assert r.status_code == 200, r.text


async def delivery_log(
    client: httpx.AsyncClient, tenant: Tenant, endpoint_id: str, **params: Any
) -> list[dict[str, Any]]:
    r = await client.get(
        f"/v1/webhooks/{endpoint_id}/deliveries", params=params, headers=tenant.headers
    )
    assert r.status_code == 200, r.text
    return r.json()["data"]  # type: ignore[no-any-return]


async def test_events_arrive_signed_and_match_the_feed(own_database: str) -> None:
    with Receiver(SECRET) as receiver, Receiver(SECRET) as cancel_only:
        async with api(own_database) as (app, client, tenant):
            endpoint = await add_endpoint(client, tenant, receiver.url)
            await add_endpoint(client, tenant, cancel_only.url, event_types=["order.cancelled"])
            await add_endpoint(client, tenant, receiver.url + "/off", enabled=False)
            first = await create_order(client, tenant, "A-1")
            await create_order(client, tenant, "A-2")
            await patch_order(client, tenant, first["id"], "gift wrap")
            feed = (await client.get("/v1/events", headers=tenant.headers)).json()["data"]
            assert len(feed) == 3

            async with dispatching(fast_settings(own_database)):
                await eventually(lambda: len(receiver.succeeded()) == 3, what="3 deliveries")
                await eventually(
                    lambda: _all_settled(client, tenant, endpoint["id"]), what="log settled"
                )

            got = receiver.requests
            assert all(r.verified for r in got), "every signature verifies"
            assert all(r.headers["webhook-signature"].startswith("v1,") for r in got)
            assert all(r.headers["content-type"] == "application/json" for r in got)
            assert sorted((r.event for r in got), key=lambda e: e["id"]) == feed
            assert not any(r.headers["webhook-id"] for r in cancel_only.requests)
            assert all(not r.headers.get("host", "").endswith("/off") for r in got)

            log = await delivery_log(client, tenant, endpoint["id"])
            assert {d["id"] for d in log} == {r.webhook_id for r in got}
            assert [d["event_id"] for d in log] == sorted(
                (e["id"] for e in feed), reverse=True
            )  # newest first
            for d in log:
                assert d["status"] == "succeeded"
                assert d["next_attempt_at"] is None
                [attempt] = d["attempts"]
                assert attempt["attempt"] == 1
                assert attempt["status_code"] == 200
                assert attempt["error"] is None
                assert attempt["latency_ms"] >= 0


async def _all_settled(client: httpx.AsyncClient, tenant: Tenant, endpoint_id: str) -> bool:
    log = await delivery_log(client, tenant, endpoint_id)
    return bool(log) and all(d["status"] != "pending" for d in log)


async def test_a_new_endpoint_gets_only_later_events(own_database: str) -> None:
    with Receiver(SECRET) as receiver:
        async with api(own_database) as (app, client, tenant):
            await create_order(client, tenant, "OLD-1")
            await add_endpoint(client, tenant, receiver.url)
            await create_order(client, tenant, "NEW-1")
            async with dispatching(fast_settings(own_database)):
                await eventually(lambda: receiver.succeeded(), what="a delivery")
                await asyncio.sleep(0.2)
            assert [r.event["data"]["order_ref"] for r in receiver.requests] == ["NEW-1"]


async def test_a_receiver_failing_twice_gets_the_event_on_the_third_attempt(
    own_database: str,
) -> None:
    answers = iter([500, 503])
    with Receiver(SECRET, answer=lambda r: next(answers, 200)) as receiver:
        receiver.body = b'{"error": "try later"}'
        async with api(own_database) as (app, client, tenant):
            endpoint = await add_endpoint(client, tenant, receiver.url)
            await create_order(client, tenant, "R-1")
            async with dispatching(fast_settings(own_database)):
                await eventually(
                    lambda: _all_settled(client, tenant, endpoint["id"]), what="delivered"
                )
            [delivery] = await delivery_log(client, tenant, endpoint["id"])

    assert delivery["status"] == "succeeded"
    assert [a["status_code"] for a in delivery["attempts"]] == [500, 503, 200]
    assert [a["attempt"] for a in delivery["attempts"]] == [1, 2, 3]
    first, second, third = delivery["attempts"]
    assert first["error"] == 'answer: {"error": "try later"}'
    assert first["next_attempt_at"] is not None
    assert second["next_attempt_at"] is not None
    assert third["next_attempt_at"] is None
    # the same message each time: one webhook-id, each attempt signed afresh
    assert len({r.webhook_id for r in receiver.requests}) == 1
    assert all(r.verified for r in receiver.requests)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_dead_receiver_ends_failed_and_a_manual_retry_delivers(own_database: str) -> None:
    port = _free_port()  # nothing listens here yet: connections are refused
    settings = fast_settings(own_database, webhook_max_attempts=3)
    async with api(own_database) as (app, client, tenant):
        endpoint = await add_endpoint(client, tenant, f"http://127.0.0.1:{port}/hooks")
        await create_order(client, tenant, "D-1")
        async with dispatching(settings):
            await eventually(lambda: _all_settled(client, tenant, endpoint["id"]), what="failed")
            [delivery] = await delivery_log(client, tenant, endpoint["id"])
            assert delivery["status"] == "failed"
            assert len(delivery["attempts"]) == 3
            assert all(a["status_code"] is None for a in delivery["attempts"])
            assert all("Connect" in a["error"] for a in delivery["attempts"])
            assert delivery["attempts"][-1]["next_attempt_at"] is None
            assert await delivery_log(client, tenant, endpoint["id"], status="failed")
            assert not await delivery_log(client, tenant, endpoint["id"], status="pending")

            with Receiver(SECRET, port=port) as receiver:
                r = await client.post(
                    f"/v1/webhooks/{endpoint['id']}/deliveries/{delivery['id']}/retry",
                    headers=tenant.headers,
                )
                assert r.status_code == 202, r.text
                assert r.json()["status"] == "pending"
                await eventually(lambda: receiver.succeeded(), what="the manual retry")
                await eventually(
                    lambda: _all_settled(client, tenant, endpoint["id"]), what="settled"
                )
            assert receiver.requests[0].verified
            assert receiver.requests[0].webhook_id == delivery["id"]

        r = await client.get(
            f"/v1/webhooks/{endpoint['id']}/deliveries/{delivery['id']}", headers=tenant.headers
        )
        after = r.json()
        assert after["status"] == "succeeded"
        assert [a["status_code"] for a in after["attempts"]] == [None, None, None, 200]


async def test_one_orders_events_arrive_in_seq_order_under_retries(own_database: str) -> None:
    """Order A's first event fails three times; its later events wait for it, while order B's
    event goes out meanwhile."""
    failures = {"left": 3}

    def answer(r: Any) -> int:
        event = r.event
        if event["data"]["order_ref"] == "SEQ-A" and event["seq"] == 1 and failures["left"]:
            failures["left"] -= 1
            return 500
        return 200

    with Receiver(SECRET, answer=answer) as receiver:
        async with api(own_database) as (app, client, tenant):
            endpoint = await add_endpoint(client, tenant, receiver.url)
            a = await create_order(client, tenant, "SEQ-A")
            await patch_order(client, tenant, a["id"], "first change")
            await patch_order(client, tenant, a["id"], "second change")
            await create_order(client, tenant, "SEQ-B")
            async with dispatching(fast_settings(own_database, webhook_backoff_seconds=0.1)):
                await eventually(lambda: len(receiver.succeeded()) == 4, what="all 4 delivered")
                await eventually(lambda: _all_settled(client, tenant, endpoint["id"]))

    arrivals = [
        (r.event["data"]["order_ref"], r.event["seq"], r.answered) for r in receiver.requests
    ]
    a_arrivals = [(seq, status) for ref, seq, status in arrivals if ref == "SEQ-A"]
    assert a_arrivals == [(1, 500), (1, 500), (1, 500), (1, 200), (2, 200), (3, 200)]
    # B did not wait for A's retries
    assert arrivals.index(("SEQ-B", 1, 200)) < arrivals.index(("SEQ-A", 1, 200))


async def test_several_dispatchers_deliver_each_event_exactly_once(own_database: str) -> None:
    with Receiver(SECRET) as receiver:
        async with api(own_database) as (app, client, tenant):
            await add_endpoint(client, tenant, receiver.url)
            async with dispatching(fast_settings(own_database, webhook_concurrency=4), count=3):
                for i in range(40):
                    await create_order(client, tenant, f"X-{i}")
                await eventually(lambda: len(receiver.succeeded()) >= 40, what="40 deliveries")
                await asyncio.sleep(0.5)  # time for any duplicate to show up
            ids = [r.webhook_id for r in receiver.requests]
            assert len(ids) == 40
            assert len(set(ids)) == 40
            assert sorted(r.event["data"]["order_ref"] for r in receiver.requests) == sorted(
                f"X-{i}" for i in range(40)
            )


async def test_a_killed_workers_lease_is_taken_over(own_postgres: str) -> None:
    """A real ``ordergate worker`` process claims the delivery and is killed (SIGKILL) while
    the receiver holds its request; once the lease expires another dispatcher delivers."""
    seen: list[str] = []

    def answer(r: Any) -> int:
        seen.append(r.webhook_id)
        return HANG if len(seen) == 1 else 200

    with Receiver(SECRET, answer=answer) as receiver:
        async with api(own_postgres) as (app, client, tenant):
            endpoint = await add_endpoint(client, tenant, receiver.url)
            await create_order(client, tenant, "K-1")
            env = {
                **os.environ,
                "ORDERGATE_DATABASE_URL": own_postgres,
                "ORDERGATE_WEBHOOK_ALLOW_PRIVATE": "true",
                "ORDERGATE_WEBHOOK_POLL_SECONDS": "0.05",
                "ORDERGATE_WEBHOOK_TIMEOUT_SECONDS": "20",
                "ORDERGATE_WEBHOOK_LEASE_SECONDS": "21",
            }
            worker = subprocess.Popen(  # noqa: ASYNC220 - started once, never waited on here
                [sys.executable, "-m", "ordergate", "worker"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            try:
                await eventually(lambda: receiver.requests, within=30, what="worker's attempt")
            finally:
                worker.send_signal(signal.SIGKILL)
                worker.wait(30)
                assert worker.stderr is not None
                worker.stderr.close()

            # Shorten the dead worker's lease, as if its 21 s had passed.
            db = Database(own_postgres, pool_size=1)
            async with db.write() as conn:
                [lease_until] = (
                    await conn.execute(sa.select(webhook_deliveries.c.lease_until))
                ).scalars()
                assert lease_until is not None, "the worker held a lease"
                await conn.execute(
                    webhook_deliveries.update().values(
                        lease_until=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
                    )
                )
            await db.dispose()

            async with dispatching(fast_settings(own_postgres)):
                await asyncio.sleep(0.5)
                assert len(receiver.requests) == 1, "not taken over while the lease holds"
                await eventually(lambda: receiver.succeeded(), what="the takeover's delivery")
                await eventually(lambda: _all_settled(client, tenant, endpoint["id"]))
            [delivery] = await delivery_log(client, tenant, endpoint["id"])

    assert [r.webhook_id for r in receiver.requests] == [delivery["id"]] * 2
    assert delivery["status"] == "succeeded"
    # the killed worker never finished its attempt, so the log holds the takeover's only
    assert [a["status_code"] for a in delivery["attempts"]] == [200]


async def test_retrying_a_delivery_in_flight_is_a_conflict(own_database: str) -> None:
    with Receiver(SECRET, answer=lambda r: HANG) as receiver:
        async with api(own_database) as (app, client, tenant):
            endpoint = await add_endpoint(client, tenant, receiver.url)
            await create_order(client, tenant, "F-1")
            settings = fast_settings(
                own_database, webhook_timeout_seconds=1, webhook_backoff_seconds=60
            )
            async with dispatching(settings):
                await eventually(lambda: receiver.requests, what="the attempt")
                [delivery] = await delivery_log(client, tenant, endpoint["id"])
                r = await client.post(
                    f"/v1/webhooks/{endpoint['id']}/deliveries/{delivery['id']}/retry",
                    headers=tenant.headers,
                )
                assert r.status_code == 409
                assert r.json()["code"] == "delivery_in_progress"
                await eventually(
                    lambda: _first_attempt_logged(client, tenant, endpoint["id"]), what="timeout"
                )
            [delivery] = await delivery_log(client, tenant, endpoint["id"])
            attempt = delivery["attempts"][0]
            assert attempt["status_code"] is None
            assert attempt["error"] == "no answer within 1 s"
            assert 900 <= attempt["latency_ms"] < 5000

            # a pending delivery waiting for its retry (in about a minute) is brought forward
            assert delivery["status"] == "pending"
            assert attempt["next_attempt_at"] == delivery["next_attempt_at"]
            r = await client.post(
                f"/v1/webhooks/{endpoint['id']}/deliveries/{delivery['id']}/retry",
                headers=tenant.headers,
            )
            assert r.status_code == 202
            brought_forward = dt.datetime.fromisoformat(r.json()["next_attempt_at"])
            assert brought_forward < dt.datetime.fromisoformat(attempt["next_attempt_at"])


async def _first_attempt_logged(
    client: httpx.AsyncClient, tenant: Tenant, endpoint_id: str
) -> bool:
    log = await delivery_log(client, tenant, endpoint_id)
    return bool(log and log[0]["attempts"])


async def test_the_answer_is_read_only_up_to_a_limit(own_database: str) -> None:
    with Receiver(SECRET, answer=lambda r: 400) as receiver:
        receiver.body = b"x" * 2_000_000
        async with api(own_database) as (app, client, tenant):
            endpoint = await add_endpoint(client, tenant, receiver.url)
            await create_order(client, tenant, "L-1")
            settings = fast_settings(own_database, webhook_max_attempts=1)
            async with dispatching(settings):
                await eventually(lambda: _all_settled(client, tenant, endpoint["id"]))
            [delivery] = await delivery_log(client, tenant, endpoint["id"])
    [attempt] = delivery["attempts"]
    assert attempt["status_code"] == 400
    assert attempt["error"] == "answer: " + "x" * 200
    assert delivery["status"] == "failed"


async def test_private_targets_are_refused_at_delivery(own_database: str) -> None:
    """An endpoint registered while private targets were allowed, delivered by a dispatcher
    that does not allow them: nothing is sent, and the log says why."""
    with Receiver(SECRET) as receiver:
        async with api(own_database) as (app, client, tenant):
            endpoint = await add_endpoint(client, tenant, receiver.url)
            await create_order(client, tenant, "P-1")
            settings = fast_settings(
                own_database, webhook_allow_private=False, webhook_max_attempts=1
            )
            async with dispatching(settings):
                await eventually(lambda: _all_settled(client, tenant, endpoint["id"]))
            [delivery] = await delivery_log(client, tenant, endpoint["id"])
    assert receiver.requests == []
    [attempt] = delivery["attempts"]
    assert attempt["error"] == (
        "refused by the outbound policy: 127.0.0.1 resolves to 127.0.0.1, "
        "which is not a public address"
    )


async def test_deliveries_go_to_the_checked_address() -> None:
    async def resolve(host: str, port: int) -> list[str]:
        return {
            "hooks.example.com": ["93.184.216.34"],
            "sneaky.example.com": ["93.184.216.34", "10.0.0.7"],
            "v6.example.com": ["2606:2800:220:1::1"],
        }[host]

    url, headers, extensions = await pinned_request(
        "https://hooks.example.com/in?x=1", allow_private=False, resolve=resolve
    )
    assert url == "https://93.184.216.34/in?x=1"
    assert headers == {"Host": "hooks.example.com"}
    assert extensions == {"sni_hostname": "hooks.example.com"}

    url, headers, extensions = await pinned_request(
        "http://v6.example.com:8080/in", allow_private=False, resolve=resolve
    )
    assert url == "http://[2606:2800:220:1::1]:8080/in"
    assert headers == {"Host": "v6.example.com:8080"}
    assert extensions == {}

    with pytest.raises(Refused, match="10.0.0.7"):
        await pinned_request("https://sneaky.example.com/", allow_private=False, resolve=resolve)
    with pytest.raises(Refused):
        await pinned_request("http://169.254.169.254/latest", allow_private=False, resolve=resolve)
    # allowed: left as it is
    assert await pinned_request("http://10.0.0.7/", allow_private=True, resolve=resolve) == (
        "http://10.0.0.7/",
        {},
        {},
    )


async def test_metrics_report_attempts_latency_and_queue_depth(own_database: str) -> None:
    answers = iter([500])
    with Receiver(SECRET, answer=lambda r: next(answers, 200)) as receiver:
        async with api(own_database) as (app, client, tenant):
            endpoint = await add_endpoint(client, tenant, receiver.url)
            before = await _metric_values(client)
            await create_order(client, tenant, "M-1")
            await create_order(client, tenant, "M-2")
            async with dispatching(fast_settings(own_database, webhook_backoff_seconds=30)):
                await eventually(lambda: len(receiver.succeeded()) == 1, what="one delivered")
                await eventually(lambda: _metric_values(client), what="metrics")
                await asyncio.sleep(0.2)
                during = await _metric_values(client)
            log = await delivery_log(client, tenant, endpoint["id"])
    assert sorted(d["status"] for d in log) == ["pending", "succeeded"]
    assert during["ordergate_webhook_queue_depth"] == 1  # the one waiting 30 s to retry
    assert (
        during['ordergate_webhook_attempts_total{outcome="succeeded"}']
        - before.get('ordergate_webhook_attempts_total{outcome="succeeded"}', 0)
        == 1
    )
    assert (
        during['ordergate_webhook_attempts_total{outcome="retrying"}']
        - before.get('ordergate_webhook_attempts_total{outcome="retrying"}', 0)
        == 1
    )
    assert (
        during["ordergate_webhook_delivery_seconds_count"]
        - before.get("ordergate_webhook_delivery_seconds_count", 0)
        == 2
    )


async def _metric_values(client: httpx.AsyncClient) -> dict[str, float]:
    r = await client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    values = {}
    for line in r.text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values


async def test_deleting_an_endpoint_removes_its_deliveries(own_database: str) -> None:
    with Receiver(SECRET) as receiver:
        async with api(own_database) as (app, client, tenant):
            endpoint = await add_endpoint(client, tenant, receiver.url)
            await create_order(client, tenant, "DEL-1")
            async with dispatching(fast_settings(own_database)):
                await eventually(lambda: _all_settled(client, tenant, endpoint["id"]))
            r = await client.delete(f"/v1/webhooks/{endpoint['id']}", headers=tenant.headers)
            assert r.status_code == 204
            async with app.state.db.read() as conn:
                assert (
                    await conn.scalar(sa.select(sa.func.count()).select_from(webhook_deliveries))
                    == 0
                )
            r = await client.get(
                f"/v1/webhooks/{endpoint['id']}/deliveries", headers=tenant.headers
            )
            assert r.status_code == 404


async def test_an_unexpected_error_in_an_attempt_is_a_failed_attempt(own_database: str) -> None:
    async def broken_resolver(host: str, port: int) -> list[str]:
        raise UnicodeError("label too long")

    async with api(own_database) as (app, client, tenant):
        endpoint = await add_endpoint(client, tenant, "http://hooks.example.com/in")
        await create_order(client, tenant, "U-1")
        settings = fast_settings(own_database, webhook_allow_private=False, webhook_max_attempts=1)
        database = Database(own_database, pool_size=2)
        dispatcher = Dispatcher(database, settings, resolve=broken_resolver)
        task = asyncio.create_task(dispatcher.run())
        try:
            await eventually(lambda: _all_settled(client, tenant, endpoint["id"]))
        finally:
            dispatcher.stop()
            await task
            await database.dispose()
        [delivery] = await delivery_log(client, tenant, endpoint["id"])
    assert delivery["status"] == "failed"
    assert delivery["attempts"][0]["error"] == "UnicodeError: label too long"


async def test_another_organisations_delivery_log_is_not_found(own_database: str) -> None:
    async with api(own_database) as (app, client, tenant):
        endpoint = await add_endpoint(client, tenant, "http://127.0.0.1:9/hooks")
        other = await make_tenant(app)
        missing = "01a209b2-0000-7000-8000-000000000000"
        for path in (f"{missing}/deliveries/{missing}", f"{missing}/deliveries/{missing}/retry"):
            method = client.post if path.endswith("retry") else client.get
            r = await method(f"/v1/webhooks/{path}", headers=tenant.headers)
            assert r.status_code == 404
            assert r.json()["code"] == "webhook_not_found"
        for path in ("deliveries", f"deliveries/{endpoint['id']}"):
            r = await client.get(f"/v1/webhooks/{endpoint['id']}/{path}", headers=other.headers)
            assert r.status_code == 404
        r = await client.post(
            f"/v1/webhooks/{endpoint['id']}/deliveries/{endpoint['id']}/retry",
            headers=other.headers,
        )
        assert r.status_code == 404
        r = await client.get(
            f"/v1/webhooks/{endpoint['id']}/deliveries?status=lost", headers=tenant.headers
        )
        assert r.status_code == 400
        assert r.json()["errors"][0]["pointer"] == "/query/status"
