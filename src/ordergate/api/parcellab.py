"""``/parcellab/v4/track/orders/``: parcelLab's Trackings/Orders API v4, answering in
parcelLab's bodies (DRF's standardised errors). Same credentials, tenancy, limits and store
as ``/v1``; every PUT and POST is in the submissions log with dialect ``parcellab``.

A PUT merges the fields it sends into the order (or creates it), then applies its
``mutations`` one by one, each through the order lifecycle: a mutation that cannot apply
reports ``success: false`` and leaves the rest of the request standing.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from collections.abc import Mapping
from typing import Any
from uuid import UUID

import jiter
import orjson
from fastapi import APIRouter, Request, Response
from sqlalchemy.ext.asyncio import AsyncConnection

from ordergate.api.deps import AppSettings, Db
from ordergate.api.openapi import inline_body
from ordergate.dialects.parcellab import VIA, Errors, error_body
from ordergate.dialects.parcellab import body as parcellab
from ordergate.dialects.parcellab.render import render
from ordergate.dialects.parcellab.schema import (
    ParcellabErrors,
    ParcellabOrder,
    ParcellabOrderOut,
    ParcellabPage,
    ParcellabWritten,
)
from ordergate.errors import (
    BodyTimeout,
    Forbidden,
    OrdergateError,
    Unauthorized,
    ValidationFailed,
)
from ordergate.intake import submissions
from ordergate.orders import lifecycle, service, store
from ordergate.orders.errors import InvalidTransition, OrderRefConflict
from ordergate.orders.store import ListFilter, StoredOrder
from ordergate.tenancy.auth import Principal, authorize
from ordergate.tenancy.ratelimit import RateLimited
from ordergate.web import json_response, nul_pointers, read_body

router = APIRouter(prefix="/parcellab/v4/track/orders", tags=["parcellab"])

ORDERINGS = ("created_at", "-created_at", "updated_at", "-updated_at")
PAGE_SIZE = 50


# --- answers --------------------------------------------------------------------------------


def _error(
    status: int,
    code: str,
    detail: str,
    attr: str | None = None,
    *,
    headers: Mapping[str, str] | None = None,
) -> Response:
    return json_response(error_body(code, detail, attr), status, headers)


async def _principal(request: Request, scope: str) -> Principal | Response:
    try:
        return await authorize(request, scope)
    except Unauthorized:
        if request.headers.get("authorization") or request.headers.get("api-key"):
            return _error(401, "authentication_failed", "Invalid token.")
        return _error(401, "not_authenticated", "Authentication credentials were not provided.")
    except Forbidden:
        detail = "You do not have permission to perform this action."
        return _error(403, "permission_denied", detail)
    except RateLimited as exc:
        wait = exc.headers.get("Retry-After", "1")
        detail = f"Request was throttled. Expected available in {wait} seconds."
        return _error(429, "throttled", detail, headers=exc.headers)


def _nul_errors(value: Any, errors: Errors) -> None:
    """DRF refuses text with NUL characters, field by field."""
    for pointer in nul_pointers(value):
        parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/") if p]
        attr = ".".join(parts) or "non_field_errors"
        errors.add(attr, "null_characters_not_allowed", "Null characters are not allowed.")


class _Rejected(Exception):
    """The request is refused as a whole with these errors; nothing is written."""

    def __init__(self, errors: Errors) -> None:
        super().__init__("parcelLab request rejected")
        self.errors = errors


async def _write(request: Request, db: Any, settings: Any, *, create_only: bool) -> Response:
    principal = await _principal(request, "orders:write")
    if isinstance(principal, Response):
        return principal
    sub = submissions.start(principal, request, dialect=VIA)
    headers = {submissions.HEADER: str(sub.id)}

    async def refuse(status: int, code: str, detail: str, attr: str | None = None) -> Response:
        async with db.write() as conn:
            row = sub.row(status_code=status, outcome="rejected", errors=[{"code": code}])
            await submissions.record(conn, [row])
        return _error(status, code, detail, attr, headers=headers)

    try:
        sub.body = await read_body(request, settings.max_body_bytes)
    except BodyTimeout:
        return await refuse(408, "request_timeout", "The request body was not received in time.")
    except OrdergateError:
        detail = f"Request body exceeded the limit of {settings.max_body_bytes} bytes."
        return await refuse(413, "payload_too_large", detail)
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        return await refuse(
            415, "unsupported_media_type", f'Unsupported media type "{media}" in request.'
        )
    try:
        raw = (
            jiter.from_json(sub.body, float_mode="decimal", allow_inf_nan=False)
            if sub.body.strip()
            else {}
        )
    except ValueError as exc:
        return await refuse(400, "parse_error", f"JSON parse error - {exc}")

    body, errors = parcellab.read(raw)
    _nul_errors(raw, errors)
    if body.account is not None and body.account != principal.organisation_number:
        detail = f"You do not have permission to write orders of account {body.account}."
        return await refuse(403, "permission_denied", detail, "account")
    try:
        if not isinstance(raw, dict):
            raise _Rejected(errors)
        async with db.write() as conn:
            status, order, results, outcome = await _apply(
                conn, principal, body, errors, sub, create_only
            )
            failed = [
                {"attr": f"mutations.{i}", "detail": r["result"]["message"]}
                for i, r in enumerate(results)
                if not r["result"]["success"]
            ]
            row = sub.row(
                status_code=status, outcome=outcome, order_ids=[order.id], errors=failed or None
            )
            await submissions.record(conn, [row])
    except _Rejected as rejected:
        async with db.write() as conn:
            logged = [{"pointer": e["attr"], "code": e["code"], "detail": e["detail"]}
                      for e in rejected.errors.items]  # fmt: skip
            await submissions.record(
                conn, [sub.row(status_code=400, outcome="invalid", errors=logged)]
            )
        return json_response(rejected.errors.body(), 400, headers)
    answer = {
        "external_id": str(order.id),
        "order_number": order.doc.get("order_number"),
        "mutations": results,
    }
    return json_response(answer, status, headers)


async def _apply(
    conn: AsyncConnection,
    principal: Principal,
    body: parcellab.Body,
    errors: Errors,
    sub: submissions.Submission,
    create_only: bool,
) -> tuple[int, StoredOrder, list[dict[str, Any]], str]:
    """Merge the body into its order (or create it) and apply its mutations: (status, the
    order as it ends, the mutations' results, the outcome for the submissions log).
    :class:`_Rejected` when nothing may be written."""
    org_id = principal.organisation_id
    result: service.Result | None = None
    status, version = 200, 0
    for _ in range(2):  # a second round when a concurrent request created the order first
        existing = None
        if body.key is not None and not errors.has(body.key_attr):
            existing = await store.get(conn, org_id, order_ref=body.key, for_update=True)
        if existing is not None and create_only:
            what = body.key_attr.replace("_", " ")
            errors.add(body.key_attr, "unique", f"order with this {what} already exists.")
        if existing is None:
            parcellab.require_for_create(body, errors)
        elif existing.status == lifecycle.Status.CANCELLED:
            # a cancelled order shows order_status "Cancelled"; sent back, it changes nothing
            statuses = body.patch.get("metadata") or {}
            if statuses.get(parcellab.ORDER_STATUS_KEY) == "Cancelled":
                del statuses[parcellab.ORDER_STATUS_KEY]
        doc = parcellab.document(body, existing.doc if existing is not None else None)
        # Quantity changes are part of the one change to the order's document, so that
        # sending a body again finds nothing to change.
        folded = _fold_quantities(doc, existing, body.mutations)
        order = parcellab.validate(body, doc, errors)
        if order is None:
            raise _Rejected(errors)
        if existing is not None:
            try:
                result = await service.put(conn, principal, order, submission_id=sub.id, via=VIA)
            except InvalidTransition as exc:
                errors.add("articles_order", "invalid", exc.detail)
                raise _Rejected(errors) from None
            status, version = 200, existing.version
            break
        (created,) = await service.create_many(
            conn, [service.NewOrder(principal, order, sub.id, VIA)]
        )
        if isinstance(created, service.Result) and created.outcome == "created":
            result, status = created, 201
            break
        assert isinstance(created, OrderRefConflict | service.Result)
    if result is None:  # pragma: no cover - created and deleted again in the same instant
        errors.add(
            body.key_attr, "invalid", "The order changed while it was written; send it again."
        )
        raise _Rejected(errors)
    order_id = result.order.id
    results = []
    for i, m in enumerate(body.mutations):
        if i in folded:
            success, message = folded[i]
        else:
            success, message = await _mutate(conn, principal, order_id, m, body)
        results.append({"type": m.type, "result": {"success": success, "message": message}})
    final = await service.get(conn, principal, order_id)
    outcome = "created" if status == 201 else "unchanged" if final.version == version else "updated"
    return status, final, results, outcome


# --- mutations -----------------------------------------------------------------------------


async def _mutate(
    conn: AsyncConnection,
    principal: Principal,
    order_id: UUID,
    m: parcellab.Mutation,
    body: parcellab.Body,
) -> tuple[bool, str]:
    """Apply one lifecycle mutation: (success, message). Each either changes the order or
    leaves it as it was; repeating one that has applied changes nothing and succeeds again."""
    order = await service.get(conn, principal, order_id, for_update=True)
    if m.type == "cancel_order":
        return await _cancel(conn, principal, order, m, body)
    if m.type == "add_tracking":
        return await _add_tracking(conn, principal, order, m)
    return False, f"{m.type} is not supported by ordergate; nothing was changed."


async def _cancel(
    conn: AsyncConnection,
    principal: Principal,
    order: StoredOrder,
    m: parcellab.Mutation,
    body: parcellab.Body,
) -> tuple[bool, str]:
    if order.status == lifecycle.Status.CANCELLED:
        return True, "The order was already cancelled."
    reason = m.reason or body.cancelled_reason or "other"
    at = m.cancelled_at or body.cancelled_at
    try:
        await service.cancel(conn, principal, order.id, reason, at=at)
    except InvalidTransition:
        return False, f"The order is {order.status} and can no longer be cancelled."
    return True, "The order was cancelled."


async def _add_tracking(
    conn: AsyncConnection, principal: Principal, order: StoredOrder, m: parcellab.Mutation
) -> tuple[bool, str]:
    for f in order.fulfillments:
        tracking = f.get("tracking") or {}
        if tracking.get("number") == m.tracking_number and tracking.get("carrier") == m.courier:
            return True, "This tracking was already added."
    lines: list[service.FulfilLine] | None = None
    if m.articles is not None:
        known = {item["line_id"] for item in order.doc["items"]}
        remaining = lifecycle.remaining_quantities(order.doc["items"], order.fulfillments)
        lines = []
        for article in m.articles:
            if article.line_item_id not in known:
                return (
                    False,
                    f"The order has no article with line_item_id {article.line_item_id!r}.",
                )
            quantity = article.quantity or remaining.get(article.line_item_id, 0)
            if quantity == 0:
                return False, f"Article {article.line_item_id!r} has nothing left to ship."
            lines.append(service.FulfilLine(article.line_item_id, quantity))
    tracking = {"carrier": m.courier, "number": m.tracking_number, "url": None}
    try:
        await service.fulfil(conn, principal, order.id, lines or None, tracking)
    except InvalidTransition as exc:
        return False, exc.detail
    except ValidationFailed as exc:  # pragma: no cover - unknown lines are checked above
        return False, exc.errors[0].detail
    return True, "The tracking was added."


def _fold_quantities(
    doc: dict[str, Any], existing: StoredOrder | None, mutations: list[parcellab.Mutation]
) -> dict[int, tuple[bool, str]]:
    """Apply the ``change_line_item_quantity`` mutations to ``doc`` in place, each one that
    the lifecycle allows: {mutation index: (success, message)}."""
    status = lifecycle.Status(existing.status) if existing else lifecycle.Status.UNFULFILLED
    shipped = lifecycle.fulfilled_quantities(existing.fulfillments if existing else [])
    stored = {
        item["line_id"]: item["quantity"] for item in (existing.doc["items"] if existing else [])
    }
    results: dict[int, tuple[bool, str]] = {}
    for i, m in enumerate(mutations):
        if m.type != "change_line_item_quantity":
            continue
        assert m.line_item_id is not None
        assert m.quantity is not None
        line = next(
            (it for it in doc.get("items") or [] if it.get("line_id") == m.line_item_id), None
        )
        if line is None:
            results[i] = (False, f"The order has no article with line_item_id {m.line_item_id!r}.")
        elif line.get("quantity") == m.quantity or stored.get(m.line_item_id) == m.quantity:
            line["quantity"] = m.quantity  # what the order already has: nothing to check
            results[i] = (True, "The quantity is unchanged.")
        elif status is lifecycle.Status.CANCELLED:
            results[i] = (False, "The order is cancelled; its quantities can no longer change.")
        elif status is lifecycle.Status.FULFILLED:
            results[i] = (False, "The order is fulfilled; its quantities can no longer change.")
        elif m.quantity < shipped.get(m.line_item_id, 0):
            results[i] = (
                False,
                f"Article {m.line_item_id!r} has {shipped[m.line_item_id]} shipped; "
                "the quantity cannot be less.",
            )
        else:
            line["quantity"] = m.quantity
            results[i] = (True, f"The quantity of article {m.line_item_id!r} is now {m.quantity}.")
    return results


# --- routes ----------------------------------------------------------------------------------

_BODY = inline_body(ParcellabOrder)


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """parcelLab's error body for these statuses, and the credential errors every route has."""
    descriptions = {
        400: "Every failing field (nothing is written), a parse error or a bad parameter",
        401: "not_authenticated / authentication_failed",
        403: "permission_denied",
        404: "not_found",
        413: "payload_too_large",
        415: "unsupported_media_type",
        429: "throttled",
    }
    return {
        s: {"model": ParcellabErrors, "description": descriptions[s]}
        for s in sorted({*statuses, 401, 403, 429})
    }


_WRITE_ERRORS = _errors(400, 413, 415)


def _query(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    # DRF reads an empty parameter as an absent one.
    return {
        "name": name,
        "in": "query",
        "required": False,
        "allowEmptyValue": True,
        "schema": schema,
    }


@router.put(
    "/",
    summary="parcelLab: create or update an order (merge)",
    openapi_extra=_BODY,
    status_code=200,
    responses={
        200: {"model": ParcellabWritten, "description": "Updated"},
        201: {"model": ParcellabWritten, "description": "Created"},
        **_WRITE_ERRORS,
    },
)
async def put_order(request: Request, db: Db, settings: AppSettings) -> Response:
    return await _write(request, db, settings, create_only=False)


@router.post(
    "/",
    summary="parcelLab: create an order",
    openapi_extra=_BODY,
    status_code=201,
    responses={201: {"model": ParcellabWritten, "description": "Created"}, **_WRITE_ERRORS},
)
async def post_order(request: Request, db: Db, settings: AppSettings) -> Response:
    return await _write(request, db, settings, create_only=True)


def _encode(ordering: str, reverse: bool, order: StoredOrder) -> str:
    value = order.created_at if ordering.lstrip("-") == "created_at" else order.updated_at
    raw = orjson.dumps([ordering, int(reverse), value.isoformat(), str(order.id)])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, ordering: str) -> tuple[bool, tuple[dt.datetime, UUID]] | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        sort, reverse, value, order_id = orjson.loads(raw)
        if not (isinstance(value, str) and isinstance(order_id, str)):
            return None
        position = (dt.datetime.fromisoformat(value), UUID(order_id))
    except (binascii.Error, ValueError, TypeError, orjson.JSONDecodeError):
        return None
    if sort != ordering or reverse not in (0, 1) or position[0].tzinfo is None:
        return None
    return bool(reverse), position


@router.get(
    "/",
    summary="parcelLab: list orders (DRF cursor pagination)",
    openapi_extra={
        "parameters": [
            {
                "name": "cursor",
                "in": "query",
                "required": False,
                "allowEmptyValue": True,
                "schema": {"type": "string"},
            },
            _query("ordering", {"type": "string", "enum": list(ORDERINGS)}),
            _query("page_size", {"type": "integer", "minimum": 1, "maximum": 200}),
        ]
    },
    responses={200: {"model": ParcellabPage}, **_errors(400, 404)},
)
async def list_orders(request: Request, db: Db, settings: AppSettings) -> Response:
    principal = await _principal(request, "orders:read")
    if isinstance(principal, Response):
        return principal
    q = request.query_params
    ordering = q.get("ordering") or "-created_at"
    if ordering not in ORDERINGS:
        return _error(400, "invalid_choice", f'"{ordering}" is not a valid choice.', "ordering")
    size_text = q.get("page_size") or str(PAGE_SIZE)
    if not re.fullmatch(r"[0-9]{1,4}", size_text) or not 1 <= int(size_text) <= 200:
        detail = "Ensure this value is an integer from 1 to 200."
        return _error(400, "invalid", detail, "page_size")
    size = int(size_text)
    reverse, after = False, None
    if q.get("cursor"):
        decoded = _decode(q["cursor"], ordering)
        if decoded is None:
            return _error(404, "not_found", "Invalid cursor")
        reverse, after = decoded
    descending = ordering.startswith("-")
    async with db.read() as conn:
        page = await service.list_orders(
            conn,
            principal,
            ListFilter(),
            sort=ordering.lstrip("-"),
            descending=descending != reverse,  # a previous page walks back from its cursor
            limit=size + 1,
            after=after,
            # an oldest-first walk shows only settled rows (see service.list_orders)
            settle=dt.timedelta(
                seconds=0 if db.is_sqlite or reverse else settings.list_settle_seconds
            ),
        )
    more = len(page) > size
    page = page[:size]
    if reverse:
        page.reverse()
    has_next = more if not reverse else True
    has_previous = (after is not None) if not reverse else more

    def link(cursor_reverse: bool, order: StoredOrder) -> str:
        cursor = _encode(ordering, cursor_reverse, order)
        return str(request.url.include_query_params(cursor=cursor))

    account = principal.organisation_number
    body = {
        "next": link(False, page[-1]) if page and has_next else None,
        "previous": link(True, page[0]) if page and has_previous else None,
        "results": [render(o, account) for o in page],
    }
    return json_response(body)


@router.get(
    "/info/",
    summary="parcelLab: look an order up by its reference or number",
    openapi_extra={
        "parameters": [
            {
                "name": n,
                "in": "query",
                "required": False,
                "allowEmptyValue": True,
                "schema": {"type": "string"},
            }
            for n in ("external_reference", "order_number")
        ]
    },
    responses={200: {"model": ParcellabOrderOut}, **_errors(400, 404)},
)
async def order_info(request: Request, db: Db) -> Response:
    principal = await _principal(request, "orders:read")
    if isinstance(principal, Response):
        return principal
    key = request.query_params.get("external_reference") or request.query_params.get("order_number")
    if not key:
        detail = "Give external_reference or order_number."
        return _error(400, "required", detail, "external_reference")
    async with db.read() as conn:
        found = await store.get(conn, principal.organisation_id, order_ref=key)
    if found is None:
        return _error(404, "not_found", "Not found.")
    return json_response(render(found, principal.organisation_number))


@router.get(
    "/{order_id}/",
    summary="parcelLab: one order by its id (external_id)",
    responses={200: {"model": ParcellabOrderOut}, **_errors(404)},
)
async def get_order(order_id: str, request: Request, db: Db) -> Response:
    principal = await _principal(request, "orders:read")
    if isinstance(principal, Response):
        return principal
    try:
        uuid = UUID(order_id)
    except ValueError:
        uuid = None
    found = None
    if uuid is not None and "." not in order_id:
        async with db.read() as conn:
            found = await store.get(conn, principal.organisation_id, order_id=uuid)
    if found is None:
        return _error(404, "not_found", "Not found.")
    return json_response(render(found, principal.organisation_number))
