"""``/dropday/api/v1``: the Dropday Orders API v1 routes, answering in Dropday's bodies
(Laravel's validator and paginator formats). Same credentials, tenancy, limits and store as
``/v1``; every create is in the submissions log with dialect ``dropday``."""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from ordergate.api.deps import AppSettings, Db
from ordergate.api.openapi import inline_body
from ordergate.db import Database
from ordergate.dialects import dropday, parse_leniently
from ordergate.errors import BodyTimeout, Forbidden, OrdergateError, Unauthorized
from ordergate.intake import submissions
from ordergate.orders import service, store
from ordergate.orders.store import ListFilter
from ordergate.tenancy.auth import Principal, authorize
from ordergate.tenancy.ratelimit import RateLimited
from ordergate.web import json_response, read_body

router = APIRouter(prefix="/dropday/api/v1", tags=["dropday"])


# --- documentation only: the routes read bodies and parameters themselves -----------------


class _In(BaseModel):
    model_config = ConfigDict(extra="allow")  # Dropday ignores what it does not know


_Text = Field(max_length=255)
_Amount = Field(description="A number, or a numeric string; 0 to 999999999999.9999")


class DropdayAddressIn(_In):
    first_name: str = _Text
    last_name: str = _Text
    company_name: str | None = Field(default=None, max_length=255)
    address1: str = _Text
    address2: str | None = Field(default=None, max_length=255)
    postcode: str | int | float = Field(max_length=255)
    city: str = _Text
    state: str | None = Field(default=None, max_length=255)
    country: str = Field(min_length=2, max_length=2, description="ISO 3166-1 alpha-2")
    phone: str | int | float | None = Field(default=None, max_length=255)


class DropdayProductIn(_In):
    external_id: str | int | float = Field(max_length=255)
    reference: str | int | float | None = Field(default=None, max_length=255)
    ean13: str | int | None = Field(default=None, description="8, 12, 13 or 14 digits")
    name: str = _Text
    quantity: int | float | str = Field(description="An integer from 1 to 1000000")
    price: float | str = _Amount
    image_url: str | None = Field(default=None, max_length=255)
    brand: str | None = Field(default=None, max_length=255)
    category: str | None = Field(default=None, max_length=255)
    supplier: str | None = Field(default=None, max_length=255)
    custom: dict[str, Any] | list[Any] | None = Field(default=None, description="Flat object")


class DropdayOrderIn(_In):
    external_id: str | int | float = Field(max_length=255)
    source: str = _Text
    test: bool | Literal[0, 1, "0", "1", "true", "false"] | None = None
    total: float | str = _Amount
    shipping_cost: float | str | None = Field(default=None, description=_Amount.description)
    email: str | None = None
    shipping_address: DropdayAddressIn
    products: list[DropdayProductIn] = Field(min_length=1)


class DropdayMessage(BaseModel):
    """401, 403 and 404 (with ``error``); 413 and 429 (``message`` alone)."""

    message: str
    error: str | None = None


class DropdayErrors(BaseModel):
    """422 in Laravel's validator format: dotted field path → messages."""

    message: str = Field(examples=["Errors"])
    errors: dict[str, list[str]] = Field(
        examples=[{"external_id": ["The external id field is required."]}]
    )


class DropdayCreated(BaseModel):
    message: str = Field(examples=["Order created", "Order already exists"])
    reference: int = Field(description="The order's number")


class DropdayAddressOut(BaseModel):
    first_name: str | None
    last_name: str | None
    company_name: str | None
    address1: str | None
    address2: str | None
    postcode: str | None
    city: str | None
    state: str | None
    country: str | None
    phone: str | None
    email: str | None


class DropdayLineOut(BaseModel):
    external_id: str
    reference: str
    ean13: str | None
    name: str | None
    quantity: int
    price: float | None
    image_url: str | None
    brand: str | None
    category: str | None
    supplier: str | None
    custom: dict[str, Any]
    current_status: str = Field(examples=["pending", "partially_completed", "completed"])
    matched_supplier: None
    logs: list[Any]


class DropdayShipping(BaseModel):
    cost: float | None


class DropdayOrderOut(BaseModel):
    id: str
    external_id: str
    reference: str = Field(description="The order's number, as a string")
    source: str | None
    test: bool
    blocked: bool
    total: float | None
    shipping_address: DropdayAddressOut
    shipping: DropdayShipping
    custom: dict[str, Any]
    order_lines: list[DropdayLineOut]
    suppliers: list[Any]
    created_at: str
    updated_at: str


class DropdayLinks(BaseModel):
    first: str
    last: str
    prev: str | None
    next: str | None


class DropdayMeta(BaseModel):
    current_page: int
    from_: int | None = Field(alias="from")
    last_page: int
    path: str
    per_page: int
    to: int | None
    total: int


class DropdayPage(BaseModel):
    current_page: int
    data: list[DropdayOrderOut]
    links: DropdayLinks
    meta: DropdayMeta


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


_LIST_PARAMETERS = [
    _query("page", {"type": "integer", "minimum": 1, "maximum": 1_000_000_000}, "From 1"),
    _query("per_page", {"type": "integer", "minimum": 1, "maximum": 100}, "Default 50"),
    _query("external_id", {"type": "string"}, "Part of the external_id, case-insensitive"),
    _query("date_from", {"type": "string"}, "ISO 8601 date or date-time (UTC without offset)"),
    _query("date_to", {"type": "string"}, "ISO 8601; a date alone includes that whole day"),
    _query("statuses", {"type": "string"}, "Comma-separated Dropday statuses"),
    _query("total_min", {"type": "number"}, "Order total, inclusive"),
    _query("total_max", {"type": "number"}, "Order total, inclusive"),
    _query(
        "include_test",
        {"type": "string", "enum": ["true", "false", "1", "0", ""]},
        "Include test orders (true or 1)",
    ),
]
_AUTH: dict[int | str, dict[str, Any]] = {
    401: {"model": DropdayMessage, "description": "Invalid or missing api-key or account-id"},
    403: {"model": DropdayMessage, "description": "The key lacks the scope"},
    429: {"model": DropdayMessage, "description": "Too Many Attempts."},
}

UNAUTHORIZED = {
    "message": "Unauthorized",
    "error": "Invalid or missing api-key or account-id header",
}


async def _principal(request: Request, scope: str) -> Principal | Response:
    try:
        return await authorize(request, scope)
    except Unauthorized:
        return json_response(UNAUTHORIZED, 401)
    except Forbidden:
        return json_response(
            {"message": "Forbidden", "error": f"This API key lacks the scope {scope}"}, 403
        )
    except RateLimited as exc:
        return json_response({"message": "Too Many Attempts."}, 429, exc.headers)


async def _record(
    db: Database, sub: submissions.Submission, status: int, outcome: str, errors: Any = None
) -> None:
    async with db.write() as conn:
        await submissions.record(
            conn, [sub.row(status_code=status, outcome=outcome, errors=errors)]
        )
    sub.recorded = True


@router.post(
    "/orders",
    summary="Dropday: create an order",
    openapi_extra=inline_body(DropdayOrderIn),
    responses={
        200: {"model": DropdayCreated, "description": "Order created / Order already exists"},
        **_AUTH,
        413: {"model": DropdayMessage, "description": "Payload Too Large"},
        422: {"model": DropdayErrors, "description": "Every failing field"},
    },
)
async def create_order(request: Request, db: Db, settings: AppSettings) -> Response:
    principal = await _principal(request, "orders:write")
    if isinstance(principal, Response):
        return principal
    sub = submissions.start(principal, request, dialect=dropday.VIA)
    headers = {submissions.HEADER: str(sub.id)}
    try:
        sub.body = await read_body(request, settings.max_body_bytes)
    except BodyTimeout:
        await _record(db, sub, 408, "rejected", [{"code": "request_timeout"}])
        return json_response({"message": "Request Timeout"}, 408, headers)
    except OrdergateError:
        await _record(db, sub, 413, "rejected", [{"code": "payload_too_large"}])
        return json_response({"message": "Payload Too Large"}, 413, headers)
    # Laravel reads a body it cannot parse as no input at all.
    parsed, nul_at = parse_leniently(sub.body)
    try:
        if nul_at:  # text with NUL can be stored nowhere: an error on each such field
            _, bag = dropday.to_canonical(parsed)
            for pointer in nul_at:
                bag.add(".".join(p for p in pointer.split("/") if p), dropday.INVALID)
            raise dropday.Invalid(bag)
        order = dropday.validate(parsed)
    except dropday.Invalid as invalid:
        logged = [{"pointer": k, "detail": " ".join(v)} for k, v in invalid.errors.bag.items()]
        await _record(db, sub, 422, "invalid", logged)
        return json_response(invalid.body(), 422, headers)
    async with db.write() as conn:
        existing = await store.get(conn, principal.organisation_id, order_ref=order.order_ref)
        if existing is None:
            (result,) = await service.create_many(
                conn, [service.NewOrder(principal, order, sub.id, dropday.VIA)]
            )
            if isinstance(result, service.Result) and result.outcome == "created":
                row = sub.row(status_code=200, outcome="created", order_ids=[result.order.id])
                await submissions.record(conn, [row])
                body = {"message": "Order created", "reference": result.order.number}
                sub.recorded = True
                return json_response(body, 200, headers)
            # created by a concurrent request since the look-up
            existing = await store.get(conn, principal.organisation_id, order_ref=order.order_ref)
        assert existing is not None
        row = sub.row(status_code=200, outcome="existing", order_ids=[existing.id])
        await submissions.record(conn, [row])
    sub.recorded = True
    return json_response(
        {"message": "Order already exists", "reference": existing.number}, 200, headers
    )


def _errors(bag: dict[str, list[str]]) -> Response:
    return json_response({"message": "Errors", "errors": bag}, 422)


def _int(
    value: str | None, name: str, bag: dict[str, list[str]], *, low: int, high: int | None
) -> int | None:
    if value is None or value == "":
        return None
    try:
        if not re.fullmatch(r"-?[0-9]{1,12}", value.strip()):
            raise ValueError(value)
        number = int(value)
    except ValueError:
        bag.setdefault(name, []).append(f"The {dropday.display(name)} field must be an integer.")
        return None
    if number < low:
        bag.setdefault(name, []).append(
            f"The {dropday.display(name)} field must be at least {low}."
        )
        return None
    if high is not None and number > high:
        bag.setdefault(name, []).append(
            f"The {dropday.display(name)} field must not be greater than {high}."
        )
        return None
    return number


def _date(
    value: str | None, name: str, bag: dict[str, list[str]], *, end_of_day: bool = False
) -> dt.datetime | None:
    """An ISO 8601 date or date-time (UTC when no offset). A date alone is the start of that
    day, or with ``end_of_day`` its last microsecond (``date_to=2025-09-22`` includes the
    22nd)."""
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        if end_of_day and len(value.strip()) == 10:
            parsed += dt.timedelta(days=1, microseconds=-1)
        # a margin of a day from the ends of the calendar, for the bounds made from it
        parsed = parsed.astimezone(dt.UTC)
        if (
            not dt.datetime(1, 1, 2, tzinfo=dt.UTC)
            < parsed
            < dt.datetime(9999, 12, 30, tzinfo=dt.UTC)
        ):
            raise ValueError(value)
    except (ValueError, OverflowError):
        bag.setdefault(name, []).append(f"The {dropday.display(name)} field must be a valid date.")
        return None
    return parsed


def _decimal(value: str | None, name: str, bag: dict[str, list[str]]) -> Decimal | None:
    if not value:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite():
        bag.setdefault(name, []).append(f"The {dropday.display(name)} field must be a number.")
        return None
    if number.copy_abs() > dropday.MAX_AMOUNT:
        bag.setdefault(name, []).append(
            f"The {dropday.display(name)} field must not be greater than 999999999999.9999."
        )
        return None
    return number


@router.get(
    "/orders",
    summary="Dropday: list orders (Laravel paginator)",
    openapi_extra={"parameters": _LIST_PARAMETERS},
    responses={
        200: {"model": DropdayPage},
        **_AUTH,
        422: {"model": DropdayErrors, "description": "A bad parameter"},
    },
)
async def list_orders(request: Request, db: Db) -> Response:
    principal = await _principal(request, "orders:read")
    if isinstance(principal, Response):
        return principal
    q = request.query_params
    bag: dict[str, list[str]] = {}
    page = _int(q.get("page"), "page", bag, low=1, high=1_000_000_000) or 1
    per_page = _int(q.get("per_page"), "per_page", bag, low=1, high=100) or 50
    date_from = _date(q.get("date_from"), "date_from", bag)
    date_to = _date(q.get("date_to"), "date_to", bag, end_of_day=True)
    total_min = _decimal(q.get("total_min"), "total_min", bag)
    total_max = _decimal(q.get("total_max"), "total_max", bag)
    include_test = q.get("include_test", "").lower()
    if include_test not in ("", "0", "1", "true", "false"):
        bag.setdefault("include_test", []).append("The include test field must be true or false.")
    if bag:
        return _errors(bag)
    statuses: list[str] = []
    if q.get("statuses"):
        wanted = [s.strip() for s in q["statuses"].split(",") if s.strip()]
        statuses = [dropday.FROM_STATUS[s] for s in wanted if s in dropday.FROM_STATUS]
        if not statuses:  # only statuses no ordergate order can have: nothing matches
            statuses = ["-"]
    flt = ListFilter(
        statuses=statuses,
        created_after=date_from - dt.timedelta(microseconds=1) if date_from else None,
        created_before=date_to + dt.timedelta(microseconds=1) if date_to else None,
        order_ref_contains=q.get("external_id") or None,
        total_min=total_min,
        total_max=total_max,
        test=None if include_test in ("1", "true") else False,
    )
    async with db.read() as conn:
        rows, total = await store.page_by_offset(
            conn, principal.organisation_id, flt, limit=per_page, offset=(page - 1) * per_page
        )
    last_page = max(1, math.ceil(total / per_page))
    path = str(request.url.replace(query=""))

    def url(n: int) -> str:
        return f"{path}?page={n}"

    first_index = (page - 1) * per_page + 1
    body = {
        "current_page": page,
        "data": [dropday.render(o) for o in rows],
        "links": {
            "first": url(1),
            "last": url(last_page),
            "prev": url(page - 1) if page > 1 else None,
            "next": url(page + 1) if page < last_page else None,
        },
        "meta": {
            "current_page": page,
            "from": first_index if rows else None,
            "last_page": last_page,
            "path": path,
            "per_page": per_page,
            "to": first_index + len(rows) - 1 if rows else None,
            "total": total,
        },
    }
    return json_response(body)


@router.get(
    "/orders/{reference}",
    summary="Dropday: one order by its reference",
    responses={
        200: {"model": DropdayOrderOut},
        **_AUTH,
        404: {"model": DropdayMessage, "description": "Order with reference '…' not found"},
    },
)
async def get_order(reference: str, request: Request, db: Db) -> Response:
    principal = await _principal(request, "orders:read")
    if isinstance(principal, Response):
        return principal
    found = None
    if re.fullmatch(r"[0-9]{1,18}", reference):
        async with db.read() as conn:
            found = await store.get_by_number(conn, principal.organisation_id, int(reference))
    if found is None:
        body = {"message": "Not Found", "error": f"Order with reference '{reference}' not found"}
        return json_response(body, 404)
    return json_response(dropday.render(found))
