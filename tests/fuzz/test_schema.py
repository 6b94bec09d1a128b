"""Schema fuzzing: schemathesis generates requests for every operation of the app's own
``/openapi.json`` (``/v1`` and the four dialects) and checks every answer against it.

Each operation gets schema-valid requests and schema-violating ones, sent in-process (ASGI)
with a real tenant's token, on SQLite and on PostgreSQL. Path parameters are sometimes the ids
of orders seeded through each front door, so that the answers about existing orders (and
their lifecycle) are reached too, not only 404s. The checks:

- no 5xx (``not_a_server_error``);
- every status code, content type and body is the one the document gives for the operation
  (``status_code_conformance``, ``content_type_conformance``, ``response_schema_conformance``);
- a request that violates the schema is refused with a 4xx (``negative_data_rejection``):
  nothing the document calls invalid gets through.

``positive_data_acceptance`` is left out on purpose: a JSON schema cannot say everything the
validators check (an ISO country, a currency's minor unit, a future date), so a schema-valid
body may still rightly be a 422.

The run is derandomized: the same code generates the same requests. More examples locally:
``ORDERGATE_FUZZ_EXAMPLES=200 make test PYTEST_ARGS=tests/fuzz`` (docs/testing.md).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode, checks
from schemathesis.python import asgi

from ordergate.app import create_app
from ordergate.db import Database
from ordergate.settings import Settings
from ordergate.tenancy import service as tenancy
from tests import factories
from tests.conftest import make_settings

EXAMPLES = int(os.environ.get("ORDERGATE_FUZZ_EXAMPLES", "5"))
CHECKS: list[checks.CheckFunction] = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.negative_data_rejection,
]
# Operations whose contract takes schema-invalid content without refusing the request, and
# why; every other check still runs on them.
ACCEPTS_INVALID_CONTENT = {
    ("/v1/orders/batch", "post"): "200 with each invalid entry's errors in its result",
    ("/reevoo/v4/customer_orders", "post"): "206 with each rejected order's errors",
    ("/v1/imports", "post"): "the NDJSON text is opaque here; lines fail one by one later",
}


@schemathesis.serializer("application/x-ndjson", "application/ndjson", "application/jsonl")
def _ndjson(ctx: schemathesis.SerializationContext, value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        return {"data": value.encode()}
    lines = value if isinstance(value, list) else [value]
    return {"data": b"".join(orjson.dumps(line) + b"\n" for line in lines)}


def _operations() -> list[tuple[str, str]]:
    """Every documented operation, read from a document built without a database."""
    doc = create_app(Settings(database_url="sqlite+aiosqlite://")).openapi()
    return [(path, method) for path, item in doc["paths"].items() for method in item]


@dataclass
class Target:
    """An app started by schemathesis' ASGI client, a tenant and what was seeded for it."""

    schema: Any
    headers: dict[str, str]
    known: dict[str, str] = field(default_factory=dict)


async def _tenant(database_url: str) -> tuple[str, int, str]:
    db = Database(database_url)
    try:
        async with db.write() as conn:
            org = await tenancy.create_organisation(conn, "FUZZ" + os.urandom(4).hex().upper())
            key = await tenancy.create_key(conn, org.trkref, None)
    finally:
        await db.dispose()
    return org.trkref, org.number, key.token


def _seed(client: asgi.ASGIClient, trkref: str, headers: dict[str, str]) -> dict[str, str]:
    """One order through /v1 and each dialect; the path parameters that name them."""
    created = client.post("/v1/orders", json=factories.full_order(), headers=headers)
    v1 = created.json()
    endpoint = client.post(
        "/v1/webhooks", json={"url": "http://127.0.0.1:9/hook"}, headers=headers
    ).json()
    dropday = client.post(
        "/dropday/api/v1/orders",
        json={
            "external_id": "DD-1",
            "source": "Shop",
            "total": 10,
            "shipping_address": {
                "first_name": "A",
                "last_name": "B",
                "address1": "1 High St",
                "postcode": "SW1A 1AA",
                "city": "London",
                "country": "GB",
            },
            "products": [{"external_id": "P1", "name": "Tea", "quantity": 1, "price": 10}],
        },
        headers=headers,
    ).json()
    parcellab = client.put(
        "/parcellab/v4/track/orders/",
        json={
            "external_reference": "PL-1",
            "recipient_email": "a@example.com",
            "articles_order": [{"sku": "S", "quantity": 1}],
        },
        headers=headers,
    ).json()
    address = {"addressLine1": "1 High St", "cityTown": "London", "countryCode": "GB"}
    pb = client.post(
        "/pitneybowes/api/v1/orders",
        json={
            "orderNumber": "PB-1",
            "fromAddress": address,
            "toAddress": address,
            "items": [{"sku": "S", "quantity": 1, "unitPrice": 1.5}],
        },
        headers=headers,
    ).json()
    return {
        "order_id": v1["id"],
        "order_ref": v1["order_ref"],
        "submission_id": created.headers["Submission-Id"],
        "endpoint_id": endpoint["id"],
        "trkref": trkref,
        "reference": str(dropday["reference"]),
        "parcellab_id": parcellab["external_id"],
        "pb_id": pb["orderId"],
    }


@pytest.fixture(scope="module")
def target(database_url: str) -> Iterator[Target]:
    trkref, _, token = asyncio.run(_tenant(database_url))
    app = create_app(make_settings(database_url, webhook_allow_private=True))
    headers = {"Authorization": f"Bearer {token}"}
    try:
        with asgi.get_client(app) as client:  # starts the app's lifespan in schemathesis' loop
            known = _seed(client, trkref, headers)
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        # A failed If-Match (412) or size limit (413) is answered before the body is read:
        # a refusal as well.
        rejection = schema.config.checks.negative_data_rejection
        rejection.expected_statuses = [*rejection.expected_statuses, "412", "413"]
        yield Target(schema=schema, headers=headers, known=known)
    finally:
        asgi.shutdown_lifespans()


def _known_path_parameters(path: str, known: dict[str, str]) -> dict[str, str]:
    """The seeded values for this path's parameters, if it names any."""
    if path.startswith("/parcellab/"):
        return {"order_id": known["parcellab_id"]}
    if path.startswith("/pitneybowes/"):
        return {"order_id": known["pb_id"]}
    return {
        name: known[name]
        for name in ("order_id", "order_ref", "submission_id", "endpoint_id", "trkref", "reference")
        if "{" + name in path
    }


@pytest.mark.parametrize(("path", "method"), _operations())
def test_every_answer_matches_the_openapi_document(target: Target, path: str, method: str) -> None:
    operation = target.schema[path][method]
    strategies = [
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    ]
    known = _known_path_parameters(path, target.known)
    if known:
        strategies += [
            operation.as_strategy(mode, path_parameters=known)
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        ]

    @given(case=st.one_of(strategies))
    @settings(
        max_examples=EXAMPLES * len(strategies),
        deadline=None,
        derandomize=True,
        database=None,
        # No shrinking: a failure is reported as found (with a curl to reproduce it), in seconds.
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=target.headers, checks=CHECKS, excluded_checks=excluded)

    excluded = [checks.negative_data_rejection] if (path, method) in ACCEPTS_INVALID_CONTENT else []

    run()
