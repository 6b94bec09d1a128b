"""/openapi.json documents the whole surface; /docs renders; probes answer."""

from __future__ import annotations

import httpx


async def test_openapi_documents_every_route_with_bodies_and_problems(
    client: httpx.AsyncClient,
) -> None:
    doc = (await client.get("/openapi.json")).json()
    assert doc["openapi"].startswith("3.1")
    paths = doc["paths"]
    assert set(paths) >= {
        "/v1/orders",
        "/v1/orders/{order_id}",
        "/v1/orders/by-ref/{order_ref}",
        "/healthz",
        "/readyz",
    }
    create = paths["/v1/orders"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Order"
    }
    assert {"200", "201", "401", "403", "409", "413", "415", "422"} <= set(create["responses"])
    patch = paths["/v1/orders/{order_id}"]["patch"]
    assert "application/merge-patch+json" in patch["requestBody"]["content"]
    schemas = doc["components"]["schemas"]
    assert {"Order", "Item", "Customer", "Address", "OrderOut", "Problem"} <= set(schemas)
    assert "order_ref" in schemas["Order"]["required"]


async def test_docs_page_and_probes(client: httpx.AsyncClient) -> None:
    r = await client.get("/docs")
    assert r.status_code == 200
    assert "swagger" in r.text.lower()
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).json() == {"status": "ready"}


async def test_unknown_route_and_wrong_method_are_problems(client: httpx.AsyncClient) -> None:
    r = await client.get("/v2/nothing")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    r = await client.delete("/v1/orders")
    assert r.status_code == 405
    assert r.headers["allow"] == "GET, POST"
    r = await client.delete("/v1/orders/01a20944-af98-71ed-8136-7ad14ab2684a")
    assert r.headers["allow"] == "GET, PATCH"
    assert r.headers["content-type"] == "application/problem+json"
