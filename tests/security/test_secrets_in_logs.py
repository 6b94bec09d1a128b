"""No secret reaches the logs: API key secrets and whole tokens (valid, wrong, revoked,
in every credential form) and webhook signing secrets, whatever the request does. Every
logger at DEBUG, except the database drivers, which `ordergate serve` keeps at WARNING
because they log statements with their parameters."""

from __future__ import annotations

import base64
import logging

import httpx
import pytest
from fastapi import FastAPI

from ordergate.cli import DRIVER_LOGGERS
from ordergate.tenancy import service as tenancy
from tests.conftest import Tenant, add_key
from tests.factories import full_order


async def test_no_secret_is_logged(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    for name in DRIVER_LOGGERS:  # as `ordergate serve` configures them
        caplog.set_level(logging.WARNING, logger=name)
    caplog.set_level(logging.DEBUG)  # last: it also sets the capturing handler's level
    token = tenant.token
    key_id, secret = token.split(".", 1)
    wrong = f"{key_id}.{'x' * len(secret)}"
    revoked = await add_key(app, tenant)
    async with app.state.db.write() as conn:
        await tenancy.revoke_key(conn, revoked.split(".", 1)[0])

    forms = [
        {"Authorization": f"Bearer {token}"},
        {"Authorization": "Basic " + base64.b64encode(f"{key_id}:{secret}".encode()).decode()},
        {"Authorization": f"Parcellab-API-Token {token}"},
        {"api-key": token, "account-id": tenant.org.trkref},
        {"Authorization": f"Bearer {wrong}"},
        {"Authorization": f"Bearer {revoked}"},
        {"api-key": token, "account-id": "WRONG"},
    ]
    for headers in forms:
        await client.post("/v1/orders", json=full_order(), headers=headers)
        await client.post("/v1/orders", content=b"{broken", headers=headers)
        await client.get("/v1/orders?limit=zero", headers=headers)
        await client.put("/parcellab/v4/track/orders/", content=b"[]", headers=headers)
    hook = await client.post(
        "/v1/webhooks", json={"url": "https://hooks.example.com/in"}, headers=tenant.headers
    )
    webhook_secret = hook.json()["secret"]
    await client.patch(
        f"/v1/webhooks/{hook.json()['id']}",
        json={"secret": webhook_secret + "x"},
        headers=tenant.headers,
    )

    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''} {r.args!r}" for r in caplog.records)
    assert caplog.records, "the requests above should log something (e.g. failed sign-ins)"
    for value in (token, secret, wrong.split(".", 1)[1], revoked, webhook_secret):
        assert value not in logged
    assert webhook_secret.removeprefix("whsec_") not in logged
