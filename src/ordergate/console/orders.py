"""Console pages about orders: the searchable list, one order, and its lifecycle actions.

Each page is a bounded number of indexed queries: the list is one keyset page
(``orders.service.list_orders``); an order page is the order, its history, its submissions
(by primary key), the organisation's endpoints, and the deliveries of this order's events
(the (endpoint, order) index) with their attempts. No query counts or scans the table.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request, Response

from ordergate.console.session import SignedIn, check_csrf
from ordergate.console.views import ConsoleRoute, page, read_form, see_other
from ordergate.db import Database
from ordergate.errors import BadRequest
from ordergate.events import deliveries, endpoints
from ordergate.intake import submissions
from ordergate.orders import history, lifecycle
from ordergate.orders import service as orders
from ordergate.orders.lifecycle import Status
from ordergate.orders.store import ListFilter, StoredOrder

router = APIRouter(prefix="/console/orders", route_class=ConsoleRoute)

PAGE_SIZE = 50
# The front doors an order can come through (orders.submitted_via).
FRONT_DOORS = ("api", "import", "reevoo", "dropday", "parcellab", "pitneybowes")
CANCEL_REASONS = ("customer", "inventory", "payment", "fraud", "other")
FINAL = (Status.FULFILLED, Status.CANCELLED)


def _encode_cursor(order: StoredOrder) -> str:
    raw = f"{order.created_at.isoformat()}|{order.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[dt.datetime, UUID] | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, _, order_id = raw.partition("|")
        return dt.datetime.fromisoformat(at), UUID(order_id)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def _day(value: str, name: str, errors: list[str]) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.combine(dt.date.fromisoformat(value), dt.time(), dt.UTC)
    except ValueError:
        errors.append(f"{name}: enter a date as YYYY-MM-DD")
        return None


def _filter(form: dict[str, str], errors: list[str]) -> ListFilter:
    """The list's filter from the search form; what cannot be read is reported, not raised."""
    number = None
    if form["number"]:
        if form["number"].isdigit() and len(form["number"]) < 19:
            number = int(form["number"])
        else:
            errors.append("Number: enter the order's number, digits only")
    status = form["status"]
    if status and status not in {s.value for s in Status}:
        errors.append("Status: choose one from the list")
        status = ""
    start = _day(form["from"], "From", errors)
    end = _day(form["to"], "To", errors)
    return ListFilter(
        statuses=(status,) if status else (),
        # The range is of whole days, both ends included; the store's bounds are exclusive.
        created_after=start - dt.timedelta(microseconds=1) if start else None,
        created_before=end + dt.timedelta(days=1) if end else None,
        email=form["email"] or None,
        sku=form["sku"] or None,
        tag=form["tag"] or None,
        order_ref=form["ref"] or None,
        number=number,
        submitted_via=form["dialect"][:32] or None,
    )


FIELDS = ("q", "ref", "number", "email", "sku", "tag", "status", "dialect", "from", "to")


def _quick_search(form: dict[str, str]) -> str | None:
    """The one search box: an order id opens the order; otherwise the text fills the field it
    looks like (a number, an email, else an order ref). Returns the URL to open, if any."""
    q = form["q"].strip()
    if not q:
        return None
    try:
        return f"/console/orders/{UUID(q)}"
    except ValueError:
        pass
    field = "number" if q.isdigit() else "email" if "@" in q else "ref"
    form[field] = q
    return None


@router.get("")
async def order_list(request: Request, operator: SignedIn) -> Response:
    form = {name: request.query_params.get(name, "").strip()[:255] for name in FIELDS}
    opened = _quick_search(form)
    if opened is not None:
        return see_other(opened)
    errors: list[str] = []
    flt = _filter(form, errors)
    cursor = request.query_params.get("cursor", "")
    after = _decode_cursor(cursor) if cursor else None
    notes = ["The page link is not valid; this is the first page"] if cursor and not after else []
    rows: list[StoredOrder] = []
    if not errors:  # a filter that cannot be read shows nothing rather than everything
        db: Database = request.app.state.db
        async with db.read() as conn:
            rows = await orders.list_orders(
                conn, operator.principal, flt, limit=PAGE_SIZE + 1, after=after
            )
    next_query = None
    if len(rows) > PAGE_SIZE:
        rows = rows[:PAGE_SIZE]
        kept = {k: v for k, v in form.items() if v and k != "q"}
        next_query = {**kept, "cursor": _encode_cursor(rows[-1])}
    return page(
        request,
        "orders.html",
        operator,
        orders=[o.render() for o in rows],
        form=form,
        errors=errors + notes,
        next_query=next_query,
        paged=bool(cursor),
        statuses=[s.value for s in Status],
        front_doors=FRONT_DOORS,
    )


def _timeline(
    entries: list[dict[str, Any]], delivered: list[dict[str, Any]], urls: dict[str, str]
) -> list[dict[str, Any]]:
    """History entries, each with the webhook deliveries of the event it produced: an
    order's event has ``seq`` = the version the change produced (see events.outbox)."""
    by_seq: dict[int, list[dict[str, Any]]] = {}
    for delivery in delivered:
        delivery["url"] = urls.get(delivery["endpoint_id"], "(deleted endpoint)")
        by_seq.setdefault(delivery["seq"], []).append(delivery)
    return [{**entry, "deliveries": by_seq.get(entry["version"], [])} for entry in entries]


@router.get("/{order_id}")
async def order_page(order_id: UUID, request: Request, operator: SignedIn) -> Response:
    db: Database = request.app.state.db
    org_id = operator.principal.organisation_id
    async with db.read() as conn:
        order = await orders.get(conn, operator.principal, order_id)
        entries = await history.entries(conn, org_id, order_id)
        wanted = {e["submission_id"] for e in entries if e["submission_id"]}
        if order.submission_id:
            wanted.add(str(order.submission_id))
        received = await submissions.get_many(conn, org_id, [UUID(i) for i in wanted])
        hooks = await endpoints.list_all(conn, org_id)
        delivered = await deliveries.for_order(
            conn, org_id, [UUID(h["id"]) for h in hooks], order_id
        )
    rendered = order.render()
    remaining = lifecycle.remaining_quantities(order.doc["items"], order.fulfillments)
    final = Status(order.status) in FINAL
    return page(
        request,
        "order.html",
        operator,
        order=rendered,
        remaining=remaining,
        timeline=_timeline(entries, delivered, {h["id"]: h["url"] for h in hooks}),
        submissions=received,
        can_act=operator.can("orders:write") and not final,
        can_retry=operator.can("webhooks:manage"),
        cancel_reasons=CANCEL_REASONS,
    )


@router.post("/{order_id}/cancel")
async def cancel(order_id: UUID, request: Request, operator: SignedIn) -> Response:
    form = await read_form(request)
    check_csrf(operator, form.get("csrf_token", ""))
    operator.require("orders:write")
    reason = form.get("reason", "")
    if reason not in CANCEL_REASONS:
        raise BadRequest("Choose a reason for the cancellation from the list")
    note = form.get("note", "").strip()[:2000] or None
    db: Database = request.app.state.db
    async with db.write() as conn:
        await orders.cancel(conn, operator.principal, order_id, reason, note)
    return see_other(f"/console/orders/{order_id}?done=cancelled")


@router.post("/{order_id}/fulfil")
async def fulfil(order_id: UUID, request: Request, operator: SignedIn) -> Response:
    form = await read_form(request)
    check_csrf(operator, form.get("csrf_token", ""))
    operator.require("orders:write")
    tracking = {
        "carrier": form.get("carrier", "").strip()[:255] or None,
        "number": form.get("tracking_number", "").strip()[:255] or None,
        "url": None,
    }
    db: Database = request.app.state.db
    async with db.write() as conn:
        await orders.fulfil(
            conn,
            operator.principal,
            order_id,
            None,
            tracking if tracking["carrier"] or tracking["number"] else None,
        )
    return see_other(f"/console/orders/{order_id}?done=fulfilled")
