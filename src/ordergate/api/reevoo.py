"""``/reevoo/v4``: the Reevoo Platform API v4 customer-order routes, answering in Reevoo's
exact bodies. Same credentials, tenancy, limits and store as ``/v1``; every request is in
the submissions log with dialect ``reevoo`` (the 202 ``id`` is its submission id)."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from ordergate.api.deps import AppSettings, Db
from ordergate.db import Database
from ordergate.dialects import blank, parse_leniently, reevoo
from ordergate.errors import BodyTimeout, Forbidden, PayloadTooLarge, Unauthorized
from ordergate.intake import batch, submissions
from ordergate.orders import service
from ordergate.orders.errors import InvalidTransition
from ordergate.orders.model import Order
from ordergate.tenancy.auth import Principal, authorize
from ordergate.tenancy.ratelimit import RateLimited
from ordergate.web import json_response, read_body

router = APIRouter(prefix="/reevoo/v4", tags=["reevoo"])


# --- documentation only: the routes read their bodies themselves, leniently ---------------


class ReevooCustomer(BaseModel):
    email: str
    customer_ref: str | None = None
    title: str | None = None
    first_name: str | None = None
    surname: str | None = None
    postcode: str | None = None
    country: str | None = Field(default=None, description="ISO 3166-1 alpha-2")


class ReevooItem(BaseModel):
    sku: str
    price: str | float | None = Field(default=None, examples=["55,99", 10])
    currency: str | None = Field(default=None, description="ISO 4217")
    metadata: dict[str, Any] | None = None


class ReevooCustomerOrder(BaseModel):
    model_config = ConfigDict(json_schema_extra={"description": "Unknown keys are ignored"})

    trkref: str = Field(examples=["TRKREF123"])
    order_ref: str
    order_date: str | None = Field(default=None, description="dd-mm-yyyy", examples=["10-12-2014"])
    fulfilment_date: str | None = Field(default=None, description="dd-mm-yyyy")
    language: str | None = None
    locale: str | None = Field(default=None, examples=["en-GB"])
    customer: ReevooCustomer
    order_items: list[ReevooItem]


class ReevooMessage(BaseModel):
    """400, 401 (single route), 413 and 429."""

    status: int
    message: str


class ReevooDenied(BaseModel):
    """403."""

    status: int
    error: str = Field(examples=["Access denied"])


class ReevooUnauthorizedBatch(BaseModel):
    """401 on the batch route (Reevoo's documented key is ``errors`` there)."""

    status: int
    errors: str = Field(examples=["Unauthorized"])


class ReevooAccepted(BaseModel):
    status: int
    id: str = Field(description="The submission id")
    message: str = Field(examples=["Customer order accepted"])


class ReevooInvalid(BaseModel):
    status: int
    message: str = Field(examples=["Invalid customer order", "No data provided"])
    errors: list[str] = Field(examples=[["order_ref cannot be blank", "invalid locale"]])


class ReevooSummary(BaseModel):
    accepted: int
    rejected: int


class ReevooRejectedOrder(BaseModel):
    customer_order: Any = Field(description="The rejected order, as it was sent")
    errors: list[str]


class ReevooBatchAnswer(BaseModel):
    """202, 206 and 422 of the batch route."""

    status: int
    id: str = Field(description="The submission id")
    message: str = Field(examples=["Batch Accepted", "Batch partially accepted"])
    summary: ReevooSummary
    errors: list[ReevooRejectedOrder | str] | None = Field(
        default=None, description="Absent when every order was accepted"
    )


def _documented(body: Any, codes: dict[int, tuple[type[BaseModel], str]]) -> dict[str, Any]:
    schema = TypeAdapter(body).json_schema(ref_template="#/components/schemas/{model}")
    schema.pop("$defs", None)
    return {
        "openapi_extra": {
            "requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}
        },
        "responses": {
            code: {"model": model, "description": d} for code, (model, d) in codes.items()
        },
    }


_INT64 = -(2**63)  # orjson writes integers in [-2**63, 2**63) only
MAX_BATCH = 1000
INVALID_ORDER = "Invalid customer order"


def _answer(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return json_response(body, status, headers)


async def _principal(request: Request, *, error_key: str) -> Principal | Response:
    """The key's principal, or Reevoo's 401/403 (429 in the same style)."""
    try:
        return await authorize(request, "orders:write")
    except Unauthorized:
        headers = {"WWW-Authenticate": 'Basic realm="reevoo"'}
        return _answer(401, {"status": 401, error_key: "Unauthorized"}, headers)
    except Forbidden:
        return _answer(403, {"status": 403, "error": "Access denied"})
    except RateLimited as exc:
        return _answer(429, {"status": 429, "message": "Too many requests"}, exc.headers)


async def _rejected(
    db: Database,
    sub: submissions.Submission,
    status: int,
    body: dict[str, Any],
    errors: list[str],
) -> Response:
    """Record the rejection in the submissions log, then answer with Reevoo's body."""
    outcome = "invalid" if status == 422 else "rejected"
    row = sub.row(
        status_code=status,
        outcome=outcome,
        errors=[{"code": "reevoo", "detail": e} for e in errors] or None,
    )
    async with db.write() as conn:
        await submissions.record(conn, [row])
    return _answer(status, body, {submissions.HEADER: str(sub.id)})


async def _receive(
    request: Request, db: Database, limit: int, *, error_key: str
) -> tuple[submissions.Submission, Principal] | Response:
    """What both routes do first: the key (Reevoo's 401/403/429), the submission, and the
    body within ``limit`` (Reevoo-style 413, recorded)."""
    principal = await _principal(request, error_key=error_key)
    if isinstance(principal, Response):
        return principal
    sub = submissions.start(principal, request, dialect=reevoo.VIA)
    try:
        sub.body = await read_body(request, limit)
    except PayloadTooLarge:
        body = {"status": 413, "message": "Request entity too large"}
        return await _rejected(db, sub, 413, body, ["request entity too large"])
    except BodyTimeout:
        body = {"status": 408, "message": "Request timeout"}
        return await _rejected(db, sub, 408, body, ["request timeout"])
    return sub, principal


def _plain(value: Any) -> Any:
    """A parsed value as JSON can show it again (exact decimals become JSON numbers). What
    the encoder cannot write as a number (an integer beyond 64 bits, a float that overflows)
    is shown as the text of the number, like NaN and Infinity."""
    if isinstance(value, int) and not isinstance(value, bool) and not _INT64 <= value < -_INT64:
        return str(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            return str(value)
        if value == value.to_integral_value() and "." not in str(value):
            return _plain(int(value)) if value.adjusted() < 20 else str(value)
        number = float(value)
        return number if math.isfinite(number) else str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


@router.post(
    "/organisations/{trkref}/customer_order",
    status_code=202,
    summary="Reevoo: submit one customer order",
    description="Reevoo Platform API v4 single submission; see docs/dialects.md.",
    **_documented(
        ReevooCustomerOrder,
        {
            202: (ReevooAccepted, "Customer order accepted"),
            400: (ReevooMessage, "Invalid TRKREF supplied"),
            401: (ReevooMessage, "Unauthorized"),
            403: (ReevooDenied, "Access denied"),
            413: (ReevooMessage, "Request entity too large"),
            422: (ReevooInvalid, "Invalid customer order / No data provided"),
            429: (ReevooMessage, "Too many requests"),
        },
    ),
)
async def customer_order(trkref: str, request: Request, db: Db, settings: AppSettings) -> Response:
    received = await _receive(request, db, settings.max_body_bytes, error_key="message")
    if isinstance(received, Response):
        return received
    sub, principal = received
    parsed, nul_at = parse_leniently(sub.body or b"")
    body_trkref = parsed.get("trkref") if isinstance(parsed, dict) else None
    if (
        not reevoo.TRKREF.match(trkref)
        or trkref != principal.trkref
        or (body_trkref not in (None, "") and body_trkref != trkref)
    ):
        body = {"status": 400, "message": "Invalid TRKREF supplied"}
        return await _rejected(db, sub, 400, body, ["Invalid TRKREF supplied"])
    messages: list[str] = []
    if body_trkref in (None, "") and isinstance(parsed, dict) and parsed:
        messages.append("trkref cannot be blank")
    messages += reevoo.nul_messages(nul_at)
    try:
        order = reevoo.validate(parsed)
    except reevoo.Rejected as rejected:
        messages += [m for m in rejected.messages if m not in messages]
    if messages:
        summary = reevoo.NO_DATA if messages == [reevoo.NO_DATA] else INVALID_ORDER
        errors = [] if summary == reevoo.NO_DATA else messages
        body = {"status": 422, "message": summary, "errors": errors}
        return await _rejected(db, sub, 422, body, messages)
    try:
        async with db.write() as conn:
            result = await service.put(conn, principal, order, submission_id=sub.id, via=reevoo.VIA)
            row = sub.row(status_code=202, outcome=result.outcome, order_ids=[result.order.id])
            await submissions.record(conn, [row])
    except InvalidTransition as refused:
        body = {"status": 422, "message": INVALID_ORDER, "errors": [refused.detail]}
        return await _rejected(db, sub, 422, body, [refused.detail])
    sub.recorded = True
    accepted = {"status": 202, "id": str(sub.id), "message": "Customer order accepted"}
    return _answer(202, accepted, {submissions.HEADER: str(sub.id)})


@router.post(
    "/customer_orders",
    summary="Reevoo: submit a batch of customer orders (a JSON array, up to 1,000)",
    description="Reevoo Platform API v4 batch submission; see docs/dialects.md.",
    **_documented(
        list[ReevooCustomerOrder],
        {
            202: (ReevooBatchAnswer, "Batch Accepted"),
            206: (ReevooBatchAnswer, "Batch partially accepted"),
            401: (ReevooUnauthorizedBatch, "Unauthorized"),
            403: (ReevooDenied, "Access denied"),
            413: (ReevooMessage, "Request entity too large"),
            422: (ReevooBatchAnswer, "Batch is invalid / No data provided"),
            429: (ReevooMessage, "Too many requests"),
        },
    ),
)
async def customer_orders(request: Request, db: Db, settings: AppSettings) -> Response:
    received = await _receive(request, db, settings.batch_max_bytes, error_key="errors")
    if isinstance(received, Response):
        return received
    sub, principal = received
    parsed, nul_at = parse_leniently(sub.body or b"")
    summary = {"accepted": 0, "rejected": 0}
    if not isinstance(parsed, list) or not parsed:
        body = {
            "status": 422,
            "id": str(sub.id),
            "message": reevoo.NO_DATA,
            "summary": summary,
            "errors": [],
        }
        return await _rejected(db, sub, 422, body, [reevoo.NO_DATA])
    if len(parsed) > MAX_BATCH:
        message = f"a batch holds at most {MAX_BATCH} customer orders"
        body = {
            "status": 422,
            "id": str(sub.id),
            "message": "Batch is invalid",
            "summary": {"accepted": 0, "rejected": len(parsed)},
            "errors": [message],
        }
        return await _rejected(db, sub, 422, body, [message])
    nul_by_order: dict[int, list[str]] = {}
    for pointer in nul_at:  # /<index>/<field>...: point into that order
        index, _, rest = pointer[1:].partition("/")
        nul_by_order.setdefault(int(index), []).append("/" + rest)
    rejected: dict[int, list[str]] = {}
    entries: list[tuple[int, Order]] = []
    for i, element in enumerate(parsed):
        owner = element.get("trkref") if isinstance(element, dict) else None
        if isinstance(element, dict) and element and not blank(owner) and owner != principal.trkref:
            rejected[i] = ["Access denied"]
            continue
        messages = []
        if isinstance(element, dict) and element and blank(owner):
            messages.append("trkref cannot be blank")
        messages += reevoo.nul_messages(nul_by_order.get(i, []))
        try:
            order = reevoo.validate(element)
        except reevoo.Rejected as exc:
            messages += [m for m in exc.messages if m not in messages]
        if messages:
            rejected[i] = messages
        else:
            entries.append((i, order))
    ids = []
    async with db.write() as conn:
        if entries:
            results = await batch.apply_in_order(
                conn, principal, entries, mode="upsert", submission_id=sub.id, via=reevoo.VIA
            )
            for r in results:
                if r.outcome in batch.FAILED:
                    rejected[r.index] = [e.detail for e in r.errors]
                elif r.id is not None:
                    ids.append(r.id)
        accepted = len(parsed) - len(rejected)
        summary = {"accepted": accepted, "rejected": len(rejected)}
        errors = [
            {"customer_order": _plain(parsed[i]), "errors": messages}
            for i, messages in sorted(rejected.items())
        ]
        if not rejected:
            status, body = (
                202,
                {"status": 202, "id": str(sub.id), "message": "Batch Accepted", "summary": summary},
            )
        elif accepted:
            status, body = (
                206,
                {
                    "status": 206,
                    "id": str(sub.id),
                    "message": "Batch partially accepted",
                    "summary": summary,
                    "errors": errors,
                },
            )
        else:
            status, body = (
                422,
                {
                    "status": 422,
                    "id": str(sub.id),
                    "message": "Batch is invalid",
                    "summary": summary,
                    "errors": errors,
                },
            )
        row = sub.row(
            status_code=status,
            outcome="batch",
            order_ids=list(dict.fromkeys(ids)),
            errors=[{"index": i, "errors": m} for i, m in sorted(rejected.items())] or None,
        )
        await submissions.record(conn, [row])
    sub.recorded = True
    return _answer(status, body, {submissions.HEADER: str(sub.id)})
