"""``/v1/orders/{id}/…``: fulfilments, cancellation and history."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from ordergate.api.deps import AppSettings, Db
from ordergate.api.openapi import inline_body, problems
from ordergate.api.orders import order_response
from ordergate.orders import service as orders
from ordergate.orders.fields import NonEmpty64, Str255, Str2000, Url
from ordergate.orders.model import OrderOut, validate_as
from ordergate.tenancy.auth import OrdersRead, OrdersWrite
from ordergate.web import json_response, read_json

router = APIRouter(prefix="/v1/orders", tags=["lifecycle"])


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class FulfilLineIn(_In):
    line_id: NonEmpty64
    quantity: int = Field(ge=1, le=1_000_000)


class TrackingIn(_In):
    carrier: Str255 | None = None
    number: Str255 | None = None
    url: Url | None = None


class FulfilmentIn(_In):
    items: list[FulfilLineIn] | None = Field(
        default=None,
        min_length=1,
        max_length=1000,
        description="Line quantities to fulfil; omitted: everything not yet fulfilled",
    )
    tracking: TrackingIn | None = None


class CancelIn(_In):
    reason: Literal["customer", "inventory", "payment", "fraud", "other"]
    note: Str2000 | None = None


@router.post(
    "/{order_id}/fulfillments",
    summary="Record a fulfilment",
    description=(
        "Fulfil line quantities (`items`), optionally with `tracking`; without `items`, "
        "everything not yet fulfilled. The status follows: partially_fulfilled or fulfilled. "
        "More than a line has left, or an order that is fulfilled or cancelled: 409 "
        "`invalid_transition`. An unknown line: 422. Nothing changes on an error."
    ),
    openapi_extra=inline_body(FulfilmentIn, required=False),
    responses={200: {"model": OrderOut}, **problems(404, 409, 413, 415, 422)},
)
async def fulfil_order(
    order_id: UUID, request: Request, principal: OrdersWrite, db: Db, settings: AppSettings
) -> Response:
    _, raw = await read_json(request, settings.max_body_bytes, empty={})
    body = validate_as(FulfilmentIn, raw)
    lines = (
        None
        if body.items is None
        else [orders.FulfilLine(i.line_id, i.quantity) for i in body.items]
    )
    tracking = body.tracking.model_dump() if body.tracking else None
    async with db.write() as conn:
        order = await orders.fulfil(conn, principal, order_id, lines, tracking)
    return order_response(order)


@router.post(
    "/{order_id}/cancel",
    summary="Cancel an order",
    description=(
        "`reason` is one of customer, inventory, payment, fraud, other. A fulfilled or "
        "cancelled order answers 409 `invalid_transition` and does not change."
    ),
    openapi_extra=inline_body(CancelIn),
    responses={200: {"model": OrderOut}, **problems(404, 409, 413, 415, 422)},
)
async def cancel_order(
    order_id: UUID, request: Request, principal: OrdersWrite, db: Db, settings: AppSettings
) -> Response:
    _, raw = await read_json(request, settings.max_body_bytes)
    body = validate_as(CancelIn, raw)
    async with db.write() as conn:
        order = await orders.cancel(conn, principal, order_id, body.reason, body.note)
    return order_response(order)


class HistoryEntry(BaseModel):
    model_config = ConfigDict(extra="allow")

    version: int = Field(description="The order's version this change produced")
    at: str
    key_id: str | None = Field(description="The API key that made the change")
    submission_id: str | None
    kind: Literal["created", "replaced", "patched", "fulfilled", "cancelled"]
    changes: list[dict[str, Any]] | None = Field(
        default=None, description='replaced/patched: [{"pointer", "old", "new"}]'
    )


class HistoryPage(BaseModel):
    data: list[HistoryEntry]


@router.get(
    "/{order_id}/history",
    summary="An order's change history, oldest first",
    responses={200: {"model": HistoryPage}, **problems(404)},
)
async def order_history(order_id: UUID, principal: OrdersRead, db: Db) -> Response:
    async with db.read() as conn:
        entries = await orders.order_history(conn, principal, order_id)
    return json_response({"data": entries})
