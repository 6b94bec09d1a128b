"""Regressions for what the fuzzers found: each test is the smallest request that failed."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import Tenant


@pytest.mark.parametrize(
    ("sent", "echoed"),
    [
        (b"99999999999999999999999", "99999999999999999999999"),
        (b"-9223372036854775809", "-9223372036854775809"),
        (b"1e400", "1E+400"),
        (b"123456789012345678901234567890.0", 1.2345678901234568e29),
        (b"10", 10),
        (b"10.10", 10.1),
    ],
)
async def test_reevoo_batch_echoes_any_number_of_a_rejected_order(
    client: httpx.AsyncClient, tenant: Tenant, sent: bytes, echoed: object
) -> None:
    # Was a 500: orjson cannot write an integer beyond 64 bits (nor a float overflow) when
    # the rejected order is shown again in errors[].customer_order.
    body = b'[{"trkref": "' + tenant.org.trkref.encode() + b'", "x": ' + sent + b"}]"
    r = await client.post(
        "/reevoo/v4/customer_orders",
        content=body,
        headers={**tenant.headers, "Content-Type": "application/json"},
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["customer_order"]["x"] == echoed
