"""The submissions log: every intake request gets an id and a record of what happened."""

from __future__ import annotations

import httpx
import orjson

from tests import factories
from tests.conftest import Tenant


async def _submission(client: httpx.AsyncClient, tenant: Tenant, response: httpx.Response) -> dict:
    sid = response.headers["submission-id"]
    r = await client.get(f"/v1/submissions/{sid}", headers=tenant.headers)
    assert r.status_code == 200, r.text
    record = r.json()
    assert record["id"] == sid
    return record


async def test_every_outcome_of_a_create_is_recorded(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = factories.order()
    raw = orjson.dumps(body)
    headers = {**tenant.headers, "content-type": "application/json"}

    created = await client.post("/v1/orders", content=raw, headers=headers)
    rec = await _submission(client, tenant, created)
    assert (rec["status_code"], rec["outcome"]) == (201, "created")
    assert rec["order_ids"] == [created.json()["id"]]
    assert rec["dialect"] == "api"
    assert (rec["method"], rec["path"]) == ("POST", "/v1/orders")
    assert rec["key_id"] == tenant.key.key_id
    assert rec["body"] == raw.decode()  # exactly as received
    assert rec["errors"] is None

    retry = await client.post("/v1/orders", content=raw, headers=headers)
    rec = await _submission(client, tenant, retry)
    assert (rec["status_code"], rec["outcome"]) == (200, "existing")

    conflict = await client.post("/v1/orders", json={**body, "tags": ["x"]}, headers=tenant.headers)
    assert conflict.status_code == 409
    rec = await _submission(client, tenant, conflict)
    assert (rec["status_code"], rec["outcome"]) == (409, "conflict")
    assert rec["order_ids"] == [created.json()["id"]]
    assert rec["errors"][0]["differences"] == ["/tags/0"]


async def test_rejected_requests_are_recorded_too(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    invalid = await client.post(
        "/v1/orders", json=factories.order(currency="XXQ"), headers=tenant.headers
    )
    assert invalid.status_code == 422
    rec = await _submission(client, tenant, invalid)
    assert (rec["status_code"], rec["outcome"]) == (422, "invalid")
    assert rec["errors"][0]["pointer"] == "/currency"
    assert rec["order_ids"] == []

    wrong_type = await client.post(
        "/v1/orders", content=b"{}", headers={**tenant.headers, "content-type": "text/plain"}
    )
    rec = await _submission(client, tenant, wrong_type)
    assert (rec["status_code"], rec["outcome"]) == (415, "rejected")
    assert rec["body"] is None

    broken = await client.post(
        "/v1/orders", content=b"{", headers={**tenant.headers, "content-type": "application/json"}
    )
    rec = await _submission(client, tenant, broken)
    assert (rec["status_code"], rec["outcome"]) == (400, "rejected")
    assert rec["body"] == "{"


async def test_put_and_patch_are_recorded(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = factories.order()
    ref = body["order_ref"]
    r = await client.put(f"/v1/orders/by-ref/{ref}", json=body, headers=tenant.headers)
    assert (await _submission(client, tenant, r))["outcome"] == "created"
    r = await client.put(f"/v1/orders/by-ref/{ref}", json=body, headers=tenant.headers)
    assert (await _submission(client, tenant, r))["outcome"] == "unchanged"
    r = await client.put(
        f"/v1/orders/by-ref/{ref}", json={**body, "tags": ["a"]}, headers=tenant.headers
    )
    rec = await _submission(client, tenant, r)
    assert (rec["status_code"], rec["outcome"]) == (200, "updated")

    oid = r.json()["id"]
    r = await client.patch(f"/v1/orders/{oid}", json={"tags": ["b"]}, headers=tenant.headers)
    rec = await _submission(client, tenant, r)
    assert (rec["method"], rec["outcome"], rec["order_ids"]) == ("PATCH", "updated", [oid])
    r = await client.patch(f"/v1/orders/{oid}", json={"order_ref": "x"}, headers=tenant.headers)
    rec = await _submission(client, tenant, r)
    assert (rec["status_code"], rec["outcome"]) == (422, "invalid")


async def test_history_links_the_submission_that_made_each_change(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    r = await client.post("/v1/orders", json=factories.order(), headers=tenant.headers)
    history = (
        await client.get(f"/v1/orders/{r.json()['id']}/history", headers=tenant.headers)
    ).json()["data"]
    assert history[0]["submission_id"] == r.headers["submission-id"]


async def test_dry_runs_are_not_submissions(client: httpx.AsyncClient, tenant: Tenant) -> None:
    r = await client.post("/v1/orders?dry_run=true", json=factories.order(), headers=tenant.headers)
    assert "submission-id" not in r.headers


async def test_submissions_are_private_to_their_organisation(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    r = await client.post("/v1/orders", json=factories.order(), headers=tenant.headers)
    sid = r.headers["submission-id"]
    assert (
        await client.get(f"/v1/submissions/{sid}", headers=other_tenant.headers)
    ).status_code == 404
    missing = "01a20944-af98-71ed-8136-7ad14ab2684a"
    assert (
        await client.get(f"/v1/submissions/{missing}", headers=tenant.headers)
    ).status_code == 404


async def test_a_patch_history_entry_links_its_submission(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    r = await client.post("/v1/orders", json=factories.order(), headers=tenant.headers)
    oid = r.json()["id"]
    r = await client.patch(f"/v1/orders/{oid}", json={"tags": ["x"]}, headers=tenant.headers)
    history = (await client.get(f"/v1/orders/{oid}/history", headers=tenant.headers)).json()
    assert history["data"][-1]["submission_id"] == r.headers["submission-id"]
