"""``/v1/orders``: the canonical order routes. Thin: parse, call the service, render."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Annotated, Any, Literal
from uuid import UUID

import orjson
from fastapi import APIRouter, Header, Query, Request, Response
from pydantic import BaseModel, Field

from ordergate.api.deps import AppSettings, Db, Intake
from ordergate.api.openapi import body_schema, problems
from ordergate.db import Database
from ordergate.errors import FieldError, ValidationFailed
from ordergate.intake import submissions
from ordergate.orders import service as orders
from ordergate.orders.lifecycle import Status
from ordergate.orders.model import OrderOut, validate_order, validate_order_json
from ordergate.orders.service import IfMatch
from ordergate.orders.store import ListFilter, StoredOrder
from ordergate.settings import Settings
from ordergate.tenancy.auth import OrdersRead, OrdersWrite
from ordergate.web import (
    json_response,
    parameter_error,
    parse_json,
    read_json,
    read_json_body,
)

router = APIRouter(prefix="/v1/orders", tags=["orders"])

MERGE_PATCH = "application/merge-patch+json"


def order_response(
    order: StoredOrder, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """An order as every order route returns it: the document and its version as ETag."""
    return json_response(
        order.render(), status_code, {"ETag": f'"{order.version}"', **(headers or {})}
    )


def _if_match(value: str | None) -> IfMatch:
    """RFC 9110 If-Match: ``*`` or a list of entity tags, compared strongly (a weak tag
    ``W/"3"`` never matches). Tags that name no version leave an empty set: 412."""
    if value is None:
        return None
    if value.strip() == "*":
        return "*"
    versions = set()
    for tag in value.split(","):
        tag = tag.strip()
        if len(tag) >= 3 and tag[0] == tag[-1] == '"' and tag[1:-1].isdigit():
            versions.add(int(tag[1:-1]))
    return frozenset(versions)


class DryRun(BaseModel):
    valid: bool


@router.post(
    "",
    status_code=201,
    summary="Create an order",
    description=(
        "201 with the new order. The same `order_ref` with the same content again: 200 with "
        "the stored order (a safe retry). The same `order_ref` with different content: 409 "
        "naming the existing id and the JSON pointers that differ. `?dry_run=true` only "
        "validates."
    ),
    openapi_extra=body_schema("Order"),
    responses={
        200: {"model": OrderOut | DryRun, "description": "A safe retry, or `dry_run`: valid"},
        201: {"model": OrderOut},
        **problems(409, 413, 415, 422),
    },
)
async def create_order(
    request: Request,
    principal: OrdersWrite,
    intake: Intake,
    db: Db,
    settings: AppSettings,
    dry_run: Annotated[bool, Query(description="Validate only; store nothing")] = False,
) -> Response:
    # Hot path: a valid body is validated straight from its text (validate_order_json), any
    # other is parsed with exact decimals and validated for its errors; the write joins the
    # creates of concurrent requests (see intake.coalescer); the response is encoded once
    # with orjson.
    if dry_run:  # validates only: not an intake, so not in the submissions log
        _, raw = await read_json(request, settings.max_body_bytes)
        validate_order(raw)
        return json_response({"valid": True})
    sub = submissions.start(principal, request)
    async with submissions.recording(db, sub):
        sub.body = await read_json_body(request, settings.max_body_bytes)
        order = validate_order_json(sub.body) or validate_order(parse_json(sub.body))
        result = await intake.create(orders.NewOrder(principal, order, sub.id), sub)
    headers = {submissions.HEADER: str(sub.id)}
    if result.outcome == "created":
        headers["Location"] = f"/v1/orders/{result.order.id}"
        return order_response(result.order, 201, headers)
    return order_response(result.order, 200, headers)


@router.put(
    "/by-ref/{order_ref:path}",
    summary="Create or replace the order with this order_ref",
    description=(
        '201 created, 200 replaced, 200 unchanged (same version). `If-Match: "<version>"` '
        "answers 412 when the order has changed since."
    ),
    openapi_extra=body_schema("Order"),
    responses={
        200: {"model": OrderOut},
        201: {"model": OrderOut},
        **problems(409, 412, 413, 415, 422),
    },
)
async def put_order(
    order_ref: str,
    request: Request,
    principal: OrdersWrite,
    db: Db,
    settings: AppSettings,
    if_match: Annotated[str | None, Header()] = None,
) -> Response:
    sub = submissions.start(principal, request)
    async with submissions.recording(db, sub):
        return await _put(sub, order_ref, request, db, settings, _if_match(if_match))


async def _put(
    sub: submissions.Submission,
    order_ref: str,
    request: Request,
    db: Database,
    settings: Settings,
    if_match: IfMatch,
) -> Response:
    sub.body = await read_json_body(request, settings.max_body_bytes)
    raw = parse_json(sub.body)
    mismatch = []
    if isinstance(raw, dict) and raw.setdefault("order_ref", order_ref) != order_ref:
        mismatch = [FieldError("/order_ref", "mismatch", "Must equal the order_ref in the path")]
        raw["order_ref"] = order_ref  # validate the rest as if it did, to report it all
    try:
        order = validate_order(raw)
    except ValidationFailed as exc:
        raise ValidationFailed([*mismatch, *exc.errors]) from None
    if mismatch:
        raise ValidationFailed(mismatch)
    async with db.write() as conn:
        result = await orders.put(
            conn, sub.principal, order, submission_id=sub.id, if_match=if_match
        )
        status = 201 if result.outcome == "created" else 200
        row = sub.row(status_code=status, outcome=result.outcome, order_ids=[result.order.id])
        await submissions.record(conn, [row])
    sub.recorded = True
    headers = {submissions.HEADER: str(sub.id)}
    if result.outcome == "created":
        headers["Location"] = f"/v1/orders/{result.order.id}"
    return order_response(result.order, status, headers)


@router.get(
    "/by-ref/{order_ref:path}",
    summary="Get an order by its order_ref",
    responses={200: {"model": OrderOut}, **problems(404)},
)
async def get_order_by_ref(order_ref: str, principal: OrdersRead, db: Db) -> Response:
    async with db.read() as conn:
        order = await orders.get_by_ref(conn, principal, order_ref)
    return order_response(order)


@router.get(
    "/{order_id}",
    summary="Get an order",
    responses={200: {"model": OrderOut}, **problems(404)},
)
async def get_order(order_id: UUID, principal: OrdersRead, db: Db) -> Response:
    async with db.read() as conn:
        order = await orders.get(conn, principal, order_id)
    return order_response(order)


@router.patch(
    "/{order_id}",
    summary="Change an order's mutable fields (JSON merge patch)",
    description=(
        "RFC 7386 merge patch (`application/merge-patch+json` or `application/json`) of "
        "the mutable fields; `null` removes a field. The result is validated like a create. "
        "`If-Match` is honoured."
    ),
    openapi_extra=body_schema("OrderPatch", media_types=(MERGE_PATCH, "application/json")),
    responses={200: {"model": OrderOut}, **problems(404, 409, 412, 413, 415, 422)},
)
async def patch_order(
    order_id: UUID,
    request: Request,
    principal: OrdersWrite,
    db: Db,
    settings: AppSettings,
    if_match: Annotated[str | None, Header()] = None,
) -> Response:
    sub = submissions.start(principal, request)
    async with submissions.recording(db, sub):
        sub.body = await read_json_body(
            request, settings.max_body_bytes, also_accept=(MERGE_PATCH,)
        )
        changes = parse_json(sub.body)
        async with db.write() as conn:
            result = await orders.patch(
                conn,
                principal,
                order_id,
                changes,
                submission_id=sub.id,
                if_match=_if_match(if_match),
            )
            row = sub.row(status_code=200, outcome=result.outcome, order_ids=[result.order.id])
            await submissions.record(conn, [row])
        sub.recorded = True
    return order_response(result.order, 200, {submissions.HEADER: str(sub.id)})


# --- listing ---------------------------------------------------------------------------------

OrderBy = Literal["created_at", "-created_at", "updated_at", "-updated_at"]


def _encode_cursor(order_by: str, order: StoredOrder) -> str:
    value = order.created_at if order_by.lstrip("-") == "created_at" else order.updated_at
    raw = orjson.dumps([order_by, value.isoformat(), str(order.id)])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str, order_by: str) -> tuple[dt.datetime, UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        sort, value, order_id = orjson.loads(raw)
        position = (dt.datetime.fromisoformat(value), UUID(order_id))
    except (binascii.Error, ValueError, TypeError, orjson.JSONDecodeError):
        raise parameter_error("cursor", "invalid_cursor", "Not a cursor from this API") from None
    if sort != order_by:
        raise parameter_error("cursor", "invalid_cursor", f"This cursor belongs to order_by={sort}")
    return position


class OrderPage(BaseModel):
    data: list[OrderOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page")


class ListQuery(BaseModel):
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = Field(default=None, max_length=512)
    order_by: OrderBy = "-created_at"
    status: list[str] | None = Field(default=None, description="Repeat or comma-separate")
    created_after: dt.datetime | None = None
    created_before: dt.datetime | None = None
    updated_after: dt.datetime | None = None
    updated_before: dt.datetime | None = None
    email: str | None = Field(default=None, max_length=320)
    sku: str | None = Field(default=None, max_length=255)
    tag: str | None = Field(default=None, max_length=255)
    order_ref: str | None = Field(default=None, max_length=255)
    test: bool | None = None


@router.get(
    "",
    summary="List orders",
    description=(
        "Newest first by default. Keyset pagination: pass `next_cursor` as `cursor` to get "
        "the next page; no order is skipped or repeated while new orders arrive."
    ),
    responses={200: {"model": OrderPage}, **problems(400)},
)
async def list_orders(
    principal: OrdersRead,
    db: Db,
    settings: AppSettings,
    query: Annotated[ListQuery, Query()],
) -> Response:
    # One model for the query string (ListQuery): FastAPI validates it in one pass, where
    # fifteen separate parameters cost more than the page query itself.
    statuses = [s for value in query.status or [] for s in value.split(",") if s]
    for s in statuses:
        if s not in Status.__members__.values():
            raise parameter_error("status", "invalid", f"{s!r} is not one of {', '.join(Status)}")

    def utc(name: str, value: dt.datetime | None) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:  # a naive time is read as UTC
            return value.replace(tzinfo=dt.UTC)
        try:
            return value.astimezone(dt.UTC)
        except OverflowError:
            raise parameter_error(name, "invalid", "Out of the representable range") from None

    flt = ListFilter(
        statuses=statuses,
        created_after=utc("created_after", query.created_after),
        created_before=utc("created_before", query.created_before),
        updated_after=utc("updated_after", query.updated_after),
        updated_before=utc("updated_before", query.updated_before),
        email=query.email,
        sku=query.sku,
        tag=query.tag,
        order_ref=query.order_ref,
        test=query.test,
    )
    after = _decode_cursor(query.cursor, query.order_by) if query.cursor else None
    async with db.read() as conn:
        # One row more than asked tells whether there is a next page.
        page = await orders.list_orders(
            conn,
            principal,
            flt,
            sort=query.order_by.lstrip("-"),
            descending=query.order_by.startswith("-"),
            limit=query.limit + 1,
            after=after,
            # SQLite stamps times inside its one-at-a-time writes, so commit order is time
            # order there and no settle window is needed.
            settle=dt.timedelta(seconds=0 if db.is_sqlite else settings.list_settle_seconds),
        )
    next_cursor = (
        _encode_cursor(query.order_by, page[query.limit - 1]) if len(page) > query.limit else None
    )
    body: dict[str, Any] = {
        "data": [o.render() for o in page[: query.limit]],
        "next_cursor": next_cursor,
    }
    return json_response(body)
