"""Console pages about webhooks: the endpoints, their recent deliveries, the failed ones, and
the retry button. They need the key's ``webhooks:manage`` scope, as the /v1/webhooks API
does; an order's own deliveries are on its order page for every operator.

Deliveries are listed newest first by primary key (UUIDv7 ids are in time order); the failed
ones through a partial index of their own. One query for a page, one for its attempts.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request, Response

from ordergate.console.session import Operator, SignedIn, check_csrf
from ordergate.console.views import ConsoleRoute, page, read_form, see_other
from ordergate.db import Database
from ordergate.events import deliveries, endpoints

router = APIRouter(prefix="/console/webhooks", route_class=ConsoleRoute)

SCOPE = "webhooks:manage"
PAGE_SIZE = 50


def _before(request: Request) -> UUID | None:
    try:
        return UUID(request.query_params.get("before", ""))
    except ValueError:
        return None


async def _deliveries_page(
    request: Request, operator: Operator, *, failed_only: bool
) -> dict[str, Any]:
    operator.require(SCOPE)
    db: Database = request.app.state.db
    org_id = operator.principal.organisation_id
    async with db.read() as conn:
        hooks = await endpoints.list_all(conn, org_id)
        rows, more = await deliveries.recent(
            conn, org_id, failed_only=failed_only, before=_before(request), limit=PAGE_SIZE
        )
    urls = {h["id"]: h["url"] for h in hooks}
    for row in rows:
        row["url"] = urls.get(row["endpoint_id"], "(deleted endpoint)")
    return {"endpoints": hooks, "deliveries": rows, "more": more, "failed_only": failed_only}


@router.get("")
async def webhooks_page(request: Request, operator: SignedIn) -> Response:
    context = await _deliveries_page(request, operator, failed_only=False)
    return page(request, "webhooks.html", operator, **context)


@router.get("/failed")
async def failed_page(request: Request, operator: SignedIn) -> Response:
    context = await _deliveries_page(request, operator, failed_only=True)
    return page(request, "webhooks.html", operator, **context)


@router.post("/{endpoint_id}/deliveries/{delivery_id}/retry")
async def retry(
    endpoint_id: UUID, delivery_id: UUID, request: Request, operator: SignedIn
) -> Response:
    form = await read_form(request)
    check_csrf(operator, form.get("csrf_token", ""))
    operator.require(SCOPE)
    db: Database = request.app.state.db
    async with db.write() as conn:
        await deliveries.retry(
            conn,
            operator.principal.organisation_id,
            endpoint_id,
            delivery_id,
            dt.datetime.now(dt.UTC),
        )
    back = form.get("back", "")
    # Only back to a console page of this site (never an absolute or protocol-relative URL).
    if not back.startswith("/console/") or back.startswith("//"):
        back = "/console/webhooks/failed"
    separator = "&" if "?" in back else "?"
    return see_other(f"{back}{separator}done=retry")
