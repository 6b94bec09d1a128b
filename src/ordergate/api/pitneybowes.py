"""``/pitneybowes/api/v1/orders``: Pitney Bowes Shipping 360 Order Management API v1,
answering in PB's bodies. Same credentials, tenancy, limits and store as ``/v1``; every
create, patch and delete is in the submissions log with dialect ``pitneybowes``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jiter
from fastapi import APIRouter, Request, Response
from sqlalchemy.ext.asyncio import AsyncConnection

from ordergate.api.deps import AppSettings, Db
from ordergate.api.openapi import inline_body, inline_patch_body
from ordergate.db import Database
from ordergate.dialects import pitneybowes as pb
from ordergate.dialects.pitneybowes import body as pb_body
from ordergate.dialects.pitneybowes import ids
from ordergate.dialects.pitneybowes.render import render, timestamp
from ordergate.dialects.pitneybowes.schema import (
    PitneyBowesCreated,
    PitneyBowesErrors,
    PitneyBowesOrder,
    PitneyBowesOrderOut,
)
from ordergate.errors import BodyTimeout, Forbidden, OrdergateError, Unauthorized
from ordergate.intake import submissions
from ordergate.orders import lifecycle, service, store
from ordergate.orders.documents import merge_patch
from ordergate.orders.errors import InvalidTransition, OrderRefConflict
from ordergate.orders.store import StoredOrder
from ordergate.tenancy.auth import Principal, authorize
from ordergate.tenancy.ratelimit import RateLimited
from ordergate.web import nul_pointers, read_body

router = APIRouter(prefix="/pitneybowes/api/v1", tags=["pitneybowes"])

# Server fields of PB's order object: shown, never taken from a body.
SERVER_FIELDS = ("orderId", "orderStatus", "transactionCreateDate", "lastModifiedDate")


def _answer(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(pb.dumps(body), status, headers, media_type="application/json")


def _error(
    status: int,
    code: str,
    description: str,
    path: str | None = None,
    *,
    headers: Mapping[str, str] | None = None,
) -> Response:
    return _answer(pb.error_body(code, description, path), status, headers)


async def _principal(request: Request, scope: str) -> Principal | Response:
    try:
        return await authorize(request, scope)
    except Unauthorized:
        return _error(401, "UNAUTHORIZED", "The request could not be authorized")
    except Forbidden:
        return _error(403, "FORBIDDEN", f"The API key lacks the scope {scope}")
    except RateLimited as exc:
        return _error(429, "TOO_MANY_REQUESTS", "Too many requests", headers=exc.headers)


def pb_path(pointer: str) -> str:
    """``/items/0/name`` → ``items[0].name``."""
    out = ""
    for part in pointer.split("/")[1:]:
        out += f"[{part}]" if part.isdigit() else (f".{part}" if out else part)
    return out or "order"


class _Refused(Exception):
    """Answer with this response; record the submission with this status and outcome."""

    def __init__(self, response: Response, outcome: str, errors: list[dict[str, Any]]) -> None:
        super().__init__(outcome)
        self.response = response
        self.outcome = outcome
        self.errors = errors


def _invalid(errors: pb.Errors, headers: dict[str, str]) -> _Refused:
    return _Refused(_answer(errors.body(), 400, headers), "invalid", errors.items)


async def _read(request: Request, settings: Any, headers: dict[str, str], body: bytes) -> Any:
    """The parsed JSON body, or :class:`_Refused` (415, 400)."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media not in ("application/json", "application/merge-patch+json"):
        response = _error(
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            f"Content-Type must be application/json, not {media or 'missing'}",
            headers=headers,
        )
        raise _Refused(response, "rejected", [{"errorCode": "UNSUPPORTED_MEDIA_TYPE"}])
    try:
        value = jiter.from_json(body, float_mode="decimal", allow_inf_nan=False)
    except ValueError as exc:
        errors = pb.Errors()
        errors.add(None, pb.INVALID_BODY, f"The request body is not valid JSON: {exc}")
        raise _invalid(errors, headers) from None
    nul = pb.Errors()
    for pointer in nul_pointers(value):
        nul.add(pb_path(pointer), pb.INVALID_VALUE, f"{pb_path(pointer)} contains a NUL character")
    if nul:
        raise _invalid(nul, headers)
    return value


async def _receive(
    request: Request, db: Database, settings: Any, work: Any, *, has_body: bool = True
) -> Response:
    """Authorise, read the body, run ``work(conn, principal, sub, value, headers)`` in one
    transaction (it answers ``(response, order ids, outcome)``) and record the submission,
    accepted or not."""
    principal = await _principal(request, "orders:write")
    if isinstance(principal, Response):
        return principal
    sub = submissions.start(principal, request, dialect=pb.VIA)
    headers = {submissions.HEADER: str(sub.id)}
    try:
        try:
            sub.body = await read_body(request, settings.max_body_bytes)
        except BodyTimeout:
            description = "The request body was not received in time"
            response = _error(408, "REQUEST_TIMEOUT", description, headers=headers)
            raise _Refused(response, "rejected", [{"errorCode": "REQUEST_TIMEOUT"}]) from None
        except OrdergateError:
            description = f"The request body is larger than {settings.max_body_bytes} bytes"
            response = _error(413, "PAYLOAD_TOO_LARGE", description, headers=headers)
            raise _Refused(response, "rejected", [{"errorCode": "PAYLOAD_TOO_LARGE"}]) from None
        value = await _read(request, settings, headers, sub.body) if has_body else None
        async with db.write() as conn:
            answer: tuple[Response, list[Any], str] = await work(
                conn, principal, sub, value, headers
            )
            response, order_ids, outcome = answer
            row = sub.row(status_code=response.status_code, outcome=outcome, order_ids=order_ids)
            await submissions.record(conn, [row])
        return response
    except _Refused as refused:
        async with db.write() as conn:
            row = sub.row(
                status_code=refused.response.status_code,
                outcome=refused.outcome,
                errors=refused.errors,
            )
            await submissions.record(conn, [row])
        return refused.response


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """PB's error list for these statuses, and the credential errors every route has."""
    descriptions = {
        400: "Every invalid field, a duplicate orderNumber or a state the change cannot apply to",
        401: "UNAUTHORIZED",
        403: "FORBIDDEN: the key lacks the scope",
        404: "ORDER_NOT_FOUND",
        413: "PAYLOAD_TOO_LARGE",
        415: "UNSUPPORTED_MEDIA_TYPE",
        429: "TOO_MANY_REQUESTS",
    }
    return {
        s: {"model": PitneyBowesErrors, "description": descriptions[s]}
        for s in sorted({*statuses, 401, 403, 429})
    }


# --- create ----------------------------------------------------------------------------------


@router.post(
    "/orders",
    summary="Pitney Bowes: create an order",
    openapi_extra=inline_body(PitneyBowesOrder),
    responses={200: {"model": PitneyBowesCreated}, **_errors(400, 413, 415)},
)
async def create_order(request: Request, db: Db, settings: AppSettings) -> Response:
    async def work(
        conn: AsyncConnection, principal: Principal, sub: Any, value: Any, headers: Any
    ) -> tuple[Response, list[Any], str]:
        canonical, errors = pb_body.to_canonical(value)
        if not isinstance(value, dict):
            raise _invalid(errors, headers)
        order = pb_body.validate(canonical, errors)
        if order is None:
            raise _invalid(errors, headers)
        (result,) = await service.create_many(
            conn, [service.NewOrder(principal, order, sub.id, pb.VIA)]
        )
        if isinstance(result, OrderRefConflict):
            existing = await store.get(conn, principal.organisation_id, order_ref=order.order_ref)
            assert existing is not None
            paths = list(dict.fromkeys(pb_body.vendor_path(p) for p in result.differences))
            errors.add(
                "orderNumber",
                pb.DUPLICATE,
                f"An order with orderNumber {order.order_ref} already exists "
                f"({ids.order_id(principal.organisation_number, existing.number)}) with different "
                f"content: {', '.join(paths)}",
            )
            raise _Refused(_answer(errors.body(), 400, headers), "conflict", errors.items)
        stored = result.order
        answer = {
            "orderId": ids.order_id(principal.organisation_number, stored.number),
            "orderNumber": order.order_ref,
            "status": "Success",
            "transactionCreateDate": timestamp(stored.created_at),
        }
        outcome = "created" if result.outcome == "created" else "existing"
        return _answer(answer, 200, headers), [stored.id], outcome

    return await _receive(request, db, settings, work)


# --- read, patch, delete ------------------------------------------------------------------


async def _find(
    conn: AsyncConnection, principal: Principal, order_id: str, *, for_update: bool = False
) -> StoredOrder | None:
    parsed = ids.parse(order_id)
    if parsed is None or parsed[0] != principal.organisation_number:
        return None
    return await store.get_by_number(
        conn, principal.organisation_id, parsed[1], for_update=for_update
    )


def _not_found(order_id: str, headers: dict[str, str] | None = None) -> Response:
    return _error(404, pb.NOT_FOUND, f"Order {order_id} was not found", "orderId", headers=headers)


async def _existing(
    conn: AsyncConnection, principal: Principal, order_id: str, headers: dict[str, str]
) -> StoredOrder:
    """The order to change, locked, or :class:`_Refused` with PB's 404."""
    found = await _find(conn, principal, order_id, for_update=True)
    if found is None:
        raise _Refused(_not_found(order_id, headers), "rejected", [{"errorCode": pb.NOT_FOUND}])
    return found


@router.get(
    "/orders/{order_id}",
    summary="Pitney Bowes: one order by its orderId",
    responses={200: {"model": PitneyBowesOrderOut}, **_errors(404)},
)
async def get_order(order_id: str, request: Request, db: Db) -> Response:
    principal = await _principal(request, "orders:read")
    if isinstance(principal, Response):
        return principal
    async with db.read() as conn:
        found = await _find(conn, principal, order_id)
    if found is None:
        return _not_found(order_id)
    return _answer(render(found, principal.organisation_number))


@router.patch(
    "/orders/{order_id}",
    summary="Pitney Bowes: update an order (merge patch)",
    openapi_extra=inline_patch_body(PitneyBowesOrder),
    responses={200: {"model": PitneyBowesOrderOut}, **_errors(400, 404, 413, 415)},
)
async def patch_order(order_id: str, request: Request, db: Db, settings: AppSettings) -> Response:
    async def work(
        conn: AsyncConnection, principal: Principal, sub: Any, value: Any, headers: Any
    ) -> tuple[Response, list[Any], str]:
        existing = await _existing(conn, principal, order_id, headers)
        errors = pb.Errors()
        if not isinstance(value, dict):
            errors.add(None, pb.INVALID_TYPE, "The request body must be a JSON object")
            raise _invalid(errors, headers)
        view = render(existing, principal.organisation_number)
        if "orderNumber" in value and value["orderNumber"] != view["orderNumber"]:
            errors.add("orderNumber", pb.IMMUTABLE, "orderNumber cannot be changed")
        changes = {k: v for k, v in value.items() if k not in SERVER_FIELDS}
        merged = merge_patch({k: v for k, v in view.items() if k not in SERVER_FIELDS}, changes)
        canonical, more = pb_body.to_canonical(merged)
        for e in more.items:
            errors.add(e.get("additionalInfo"), e["errorCode"], e["errorDescription"])
        doc = pb_body.overlay(existing.doc, canonical)
        order = pb_body.validate(doc, errors)
        if order is None:
            raise _invalid(errors, headers)
        try:
            result = await service.put(conn, principal, order, submission_id=sub.id, via=pb.VIA)
        except InvalidTransition as exc:
            errors.add("items", pb.INVALID_STATE_CHANGE, exc.detail)
            raise _invalid(errors, headers) from None
        body = render(result.order, principal.organisation_number)
        return _answer(body, 200, headers), [result.order.id], result.outcome

    return await _receive(request, db, settings, work)


@router.delete(
    "/orders/{order_id}",
    summary="Pitney Bowes: cancel an order (reason other)",
    responses={200: {"model": PitneyBowesOrderOut}, **_errors(400, 404, 413)},
)
async def delete_order(order_id: str, request: Request, db: Db, settings: AppSettings) -> Response:
    async def work(
        conn: AsyncConnection, principal: Principal, sub: Any, value: Any, headers: Any
    ) -> tuple[Response, list[Any], str]:
        existing = await _existing(conn, principal, order_id, headers)
        order, outcome = existing, "unchanged"
        if existing.status != lifecycle.Status.CANCELLED:
            outcome = "cancelled"
            try:
                order = await service.cancel(conn, principal, existing.id, "other")
            except InvalidTransition:
                errors = pb.Errors()
                errors.add(
                    "orderId",
                    pb.INVALID_STATE_CHANGE,
                    f"Order {order_id} is {existing.status} and cannot be cancelled",
                )
                raise _Refused(
                    _answer(errors.body(), 400, headers), "conflict", errors.items
                ) from None
        body = render(order, principal.organisation_number)
        return _answer(body, 200, headers), [order.id], outcome

    return await _receive(request, db, settings, work, has_body=False)
