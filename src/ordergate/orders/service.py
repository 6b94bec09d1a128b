"""Order use cases: create, replace (PUT by ref), patch, read and list.

Every front door calls these with a validated canonical ``Order`` and an open transaction;
nothing here commits. The outcome says what happened so that each door can answer in its own
words (201 vs 200, "Order already exists", …).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID

import uuid_utils.compat as uuid_utils
from sqlalchemy.ext.asyncio import AsyncConnection

from ordergate.errors import FieldError, PreconditionFailed, ValidationFailed
from ordergate.events import outbox
from ordergate.orders import history, lifecycle, store
from ordergate.orders.documents import differing_pointers, merge_patch, same_document
from ordergate.orders.errors import InvalidTransition, OrderNotFound, OrderRefConflict
from ordergate.orders.fields import iso_utc
from ordergate.orders.lifecycle import Status
from ordergate.orders.model import (
    ORDER_FIELDS,
    PATCHABLE_FIELDS,
    Order,
    to_document,
    validate_order,
)
from ordergate.orders.store import ListFilter, StoredOrder
from ordergate.tenancy.auth import Principal

Outcome = Literal["created", "updated", "unchanged", "existing"]
# "existing": a create found the same order_ref with the same content (a safe retry).

# What an If-Match header allows: any version ("*"), some versions, or no condition (None).
IfMatch = Literal["*"] | frozenset[int] | None


@dataclass(frozen=True, slots=True)
class Result:
    outcome: Outcome
    order: StoredOrder


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def opening(doc: dict[str, Any]) -> tuple[Status, list[dict[str, Any]]]:
    """A new order's status and fulfilments, from its document alone."""
    fulfillments: list[dict[str, Any]] = []
    if doc["fulfilled_at"] is not None:
        # An order submitted with fulfilled_at was fulfilled before we heard of it.
        at = dt.datetime.fromisoformat(doc["fulfilled_at"])
        fulfillments.append(lifecycle.fulfil_remaining(doc["items"], [], at))
    return lifecycle.status_of(doc["items"], fulfillments), fulfillments


def opening_of(order: Order) -> tuple[Status, list[dict[str, Any]]]:
    """:func:`opening` of a validated order, without making its document in the usual case:
    an order not submitted fulfilled opens unfulfilled, with no fulfilment."""
    if order.fulfilled_at is None:
        return Status.UNFULFILLED, []
    return opening(to_document(order))


def new_order(
    principal: Principal, doc: dict[str, Any], via: str, submission_id: UUID | None
) -> StoredOrder:
    """A new order from its document, not yet stored (its number is given on insert)."""
    now = _now()
    status, fulfillments = opening(doc)
    return StoredOrder(
        organisation_id=principal.organisation_id,
        id=uuid_utils.uuid7(),
        number=0,
        order_ref=doc["order_ref"],
        status=status,
        version=1,
        submitted_via=via,
        created_at=now,
        updated_at=now,
        doc=doc,
        fulfillments=fulfillments,
        submission_id=submission_id,
    )


def event_of(order: StoredOrder, type_: str) -> dict[str, Any]:
    """The event of a change, written beside it: the order as it is after the change."""
    return outbox.event(
        order.organisation_id, type_, order.id, order.version, order.updated_at, order.render()
    )


def _same_or_conflict(existing: StoredOrder, doc: dict[str, Any]) -> Result:
    if same_document(existing.doc, doc):
        return Result("existing", existing)
    raise OrderRefConflict(existing.order_ref, existing.id, differing_pointers(existing.doc, doc))


@dataclass(frozen=True, slots=True)
class NewOrder:
    """One order to create: validated, with the body it came in and the door it came through."""

    principal: Principal
    order: Order | None  # None when only its document is at hand (imports validate apart)
    submission_id: UUID | None = None
    via: str = "api"
    doc: dict[str, Any] | None = None  # to_document(order), when already made

    def document(self) -> dict[str, Any]:
        if self.doc is not None:
            return self.doc
        assert self.order is not None
        return to_document(self.order)

    def validated(self) -> Order:
        return self.order if self.order is not None else validate_order(self.document())


async def _stored_by_ref(
    conn: AsyncConnection,
    requests: Sequence[NewOrder],
    docs: Sequence[dict[str, Any]],
    *,
    for_update: bool,
) -> dict[tuple[UUID, str], StoredOrder]:
    """The stored orders with the requests' order_refs, by (organisation, order_ref): one
    look-up per organisation (rows locked with ``for_update``)."""
    refs_by_org: dict[UUID, set[str]] = {}
    for r, doc in zip(requests, docs, strict=True):
        refs_by_org.setdefault(r.principal.organisation_id, set()).add(doc["order_ref"])
    known: dict[tuple[UUID, str], StoredOrder] = {}
    for org_id, refs in refs_by_org.items():
        stored = await store.get_by_refs(conn, org_id, list(refs), for_update=for_update)
        known.update({(org_id, ref): order for ref, order in stored.items()})
    return known


async def create_many(
    conn: AsyncConnection, requests: Sequence[NewOrder]
) -> list[Result | OrderRefConflict]:
    """Create many orders set-based: a handful of statements whatever the count.

    One outcome per request, in order: ``created``; ``existing`` for the same order_ref with
    the same content (stored before, or earlier in this call); an :class:`OrderRefConflict`
    (returned, not raised) for the same order_ref with different content.
    """
    docs = [r.document() for r in requests]
    known = await _stored_by_ref(conn, requests, docs, for_update=False)

    # Per request: a settled outcome, a new order to insert, or (an int) the index of an
    # earlier request in this call with the same order_ref, which it is compared with.
    pending: list[Result | OrderRefConflict | StoredOrder | int] = []
    first_new: dict[tuple[UUID, str], int] = {}
    new: list[StoredOrder] = []
    key_ids: dict[UUID, str] = {}
    for i, (r, doc) in enumerate(zip(requests, docs, strict=True)):
        key = (r.principal.organisation_id, doc["order_ref"])
        if key in known:
            pending.append(_outcome(known[key], doc))
        elif key in first_new:
            pending.append(first_new[key])
        else:
            order = new_order(r.principal, doc, r.via, r.submission_id)
            first_new[key] = i
            new.append(order)
            key_ids[order.id] = r.principal.key_id
            pending.append(order)
    inserted = await store.insert_many(conn, new)
    created = [o for o in new if o.id in inserted]
    await history.append(
        conn, [history.created(o, key_ids[o.id], o.submission_id) for o in created]
    )
    await outbox.append(conn, [event_of(o, "order.created") for o in created])

    results: list[Result | OrderRefConflict] = []
    for r, doc, outcome in zip(requests, docs, pending, strict=True):
        if isinstance(outcome, int):
            earlier = results[outcome]
            settled: StoredOrder | None = (
                earlier.order
                if isinstance(earlier, Result)
                else await store.get(conn, r.principal.organisation_id, order_ref=doc["order_ref"])
            )
            assert settled is not None
            results.append(_outcome(settled, doc))
        elif not isinstance(outcome, StoredOrder):
            results.append(outcome)
        elif outcome.id in inserted:
            results.append(Result("created", outcome))
        else:
            # A concurrent transaction inserted this order_ref between our look-up and insert.
            raced = await store.get(conn, r.principal.organisation_id, order_ref=doc["order_ref"])
            assert raced is not None
            results.append(_outcome(raced, doc))
    return results


@dataclass(frozen=True, slots=True)
class Refused:
    """A replacement the lifecycle does not allow, and the order it was for."""

    order_id: UUID | None
    error: InvalidTransition


async def upsert_many(
    conn: AsyncConnection, requests: Sequence[NewOrder]
) -> list[Result | Refused]:
    """Create or replace many orders (PUT by ref for each), set-based. Each (organisation,
    order_ref) may appear once. One outcome per request, in order: ``created``, ``updated``,
    ``unchanged``, or :class:`Refused` for a replacement that the lifecycle does not allow."""
    docs = [r.document() for r in requests]
    known = await _stored_by_ref(conn, requests, docs, for_update=True)

    results: list[Result | Refused | None] = []
    changed: list[tuple[StoredOrder, dict[str, Any], NewOrder, str]] = []
    to_create: list[int] = []
    for i, (r, doc) in enumerate(zip(requests, docs, strict=True)):
        existing = known.get((r.principal.organisation_id, doc["order_ref"]))
        if existing is None:
            to_create.append(i)
            results.append(None)
        elif same_document(existing.doc, doc):
            results.append(Result("unchanged", existing))
        else:
            previous = existing.doc
            try:
                kind = _apply_replacement(existing, doc, r.via, r.submission_id)
            except InvalidTransition as refused:
                results.append(Refused(existing.id, refused))
                continue
            changed.append((existing, previous, r, kind))
            results.append(Result("updated", existing))

    positions = await store.update_many(conn, [(o, previous) for o, previous, _, _ in changed])
    await history.append(
        conn,
        [
            history.replaced(o, previous, r.principal.key_id, r.submission_id)
            for o, previous, r, _ in changed
        ],
    )
    events = [event_of(o, kind) for o, _, _, kind in changed]
    if conn.dialect.name == "postgresql":
        events = [
            {**e, "txid": positions[o.id]} for e, (o, _, _, _) in zip(events, changed, strict=True)
        ]
    await outbox.append(conn, events)

    created = await create_many(conn, [requests[i] for i in to_create])
    for i, outcome in zip(to_create, created, strict=True):
        if isinstance(outcome, OrderRefConflict):
            # Created by a concurrent transaction since the look-up: replace it, as PUT does.
            try:
                results[i] = await put(
                    conn,
                    requests[i].principal,
                    requests[i].validated(),
                    submission_id=requests[i].submission_id,
                    via=requests[i].via,
                )
            except InvalidTransition as refused:
                results[i] = Refused(None, refused)
        elif outcome.outcome == "existing":  # the same content, created concurrently
            results[i] = Result("unchanged", outcome.order)
        else:
            results[i] = outcome
    settled = [r for r in results if r is not None]
    assert len(settled) == len(requests)
    return settled


def _outcome(existing: StoredOrder, doc: dict[str, Any]) -> Result | OrderRefConflict:
    try:
        return _same_or_conflict(existing, doc)
    except OrderRefConflict as conflict:
        return conflict


async def create(
    conn: AsyncConnection,
    principal: Principal,
    order: Order,
    *,
    submission_id: UUID | None = None,
    via: str = "api",
) -> Result:
    """Store a new order. The same order_ref with the same content is a safe retry and
    returns the stored order; with different content it is an :class:`OrderRefConflict`."""
    (result,) = await create_many(conn, [NewOrder(principal, order, submission_id, via)])
    if isinstance(result, OrderRefConflict):
        raise result
    return result


def _check_if_match(existing: StoredOrder | None, if_match: IfMatch) -> None:
    if if_match is None:
        return
    if existing is None or (if_match != "*" and existing.version not in if_match):
        current = "none" if existing is None else f'"{existing.version}"'
        raise PreconditionFailed(
            f"If-Match does not match the order's current version (ETag {current})"
        )


def _apply_replacement(
    existing: StoredOrder, doc: dict[str, Any], via: str, submission_id: UUID | None
) -> str:
    """Turn ``existing`` into ``doc``, keeping what the lifecycle has recorded. Returns the
    change's event type: ``order.fulfilled`` when the new ``fulfilled_at`` records a
    fulfilment, else ``order.updated``."""
    lifecycle.check_items_cover_fulfilments(doc["items"], existing.fulfillments)
    previous_fulfillments = existing.fulfillments
    fulfillments = list(existing.fulfillments)
    status = Status(existing.status)
    if doc["fulfilled_at"] is not None and status is not Status.FULFILLED:
        lifecycle.check_transition(status, Status.FULFILLED)
        at = dt.datetime.fromisoformat(doc["fulfilled_at"])
        fulfillments.append(lifecycle.fulfil_remaining(doc["items"], fulfillments, at))
    if status is not Status.CANCELLED:
        new_status = lifecycle.status_of(doc["items"], fulfillments)
        if new_status is not status:
            lifecycle.check_transition(status, new_status)
        status = new_status
    existing.doc = doc
    existing.fulfillments = fulfillments
    existing.status = status
    existing.version += 1
    existing.updated_at = _now()
    existing.submitted_via = via
    existing.submission_id = submission_id
    return "order.fulfilled" if len(fulfillments) > len(previous_fulfillments) else "order.updated"


async def put(
    conn: AsyncConnection,
    principal: Principal,
    order: Order,
    *,
    submission_id: UUID | None = None,
    via: str = "api",
    if_match: IfMatch = None,
) -> Result:
    """Create the order with this order_ref, or replace it entirely."""
    doc = to_document(order)
    org_id = principal.organisation_id
    existing = await store.get(conn, org_id, order_ref=order.order_ref, for_update=True)
    _check_if_match(existing, if_match)
    if existing is None:
        (created,) = await create_many(conn, [NewOrder(principal, order, submission_id, via)])
        if isinstance(created, Result) and created.outcome == "created":
            return created
        # A concurrent request created it first: replace that one.
        existing = await store.get(conn, org_id, order_ref=order.order_ref, for_update=True)
        assert existing is not None
    if same_document(existing.doc, doc):
        return Result("unchanged", existing)
    previous = existing.doc
    kind = _apply_replacement(existing, doc, via, submission_id)
    position = await store.update(conn, existing, previous_doc=previous)
    await history.append(
        conn, [history.replaced(existing, previous, principal.key_id, submission_id)]
    )
    await outbox.append(conn, [event_of(existing, kind)], txid=position)
    return Result("updated", existing)


async def patch(
    conn: AsyncConnection,
    principal: Principal,
    order_id: UUID,
    changes: Any,
    *,
    submission_id: UUID | None = None,
    if_match: IfMatch = None,
) -> Result:
    """Apply an RFC 7386 merge patch to the order's mutable fields, validated like a create."""
    existing = await get(conn, principal, order_id, for_update=True)
    _check_if_match(existing, if_match)
    if not isinstance(changes, dict):
        raise ValidationFailed([FieldError("", "invalid_type", "A merge patch is a JSON object")])
    immutable = {
        k: FieldError(f"/{k}", "immutable", f"{k} cannot be changed by PATCH; use PUT by order_ref")
        for k in changes
        if k in ORDER_FIELDS and k not in PATCHABLE_FIELDS
    }
    allowed = {k: v for k, v in changes.items() if k not in immutable}
    try:
        order = validate_order(merge_patch(existing.doc, allowed))
    except ValidationFailed as exc:
        raise ValidationFailed([*immutable.values(), *exc.errors]) from None
    if immutable:
        raise ValidationFailed(list(immutable.values()))
    doc = to_document(order)
    if same_document(existing.doc, doc):
        return Result("unchanged", existing)
    previous = existing.doc
    existing.doc = doc
    existing.version += 1
    existing.updated_at = _now()
    position = await store.update(conn, existing, previous_doc=previous)
    await history.append(
        conn, [history.patched(existing, previous, principal.key_id, submission_id)]
    )
    await outbox.append(conn, [event_of(existing, "order.updated")], txid=position)
    return Result("updated", existing)


async def get(
    conn: AsyncConnection, principal: Principal, order_id: UUID, *, for_update: bool = False
) -> StoredOrder:
    order = await store.get(
        conn, principal.organisation_id, order_id=order_id, for_update=for_update
    )
    if order is None:
        raise OrderNotFound(f"No order {order_id}")
    return order


async def get_by_ref(conn: AsyncConnection, principal: Principal, order_ref: str) -> StoredOrder:
    order = await store.get(conn, principal.organisation_id, order_ref=order_ref)
    if order is None:
        raise OrderNotFound(f"No order with order_ref {order_ref!r}")
    return order


async def list_orders(
    conn: AsyncConnection,
    principal: Principal,
    flt: ListFilter,
    *,
    sort: str = "created_at",
    descending: bool = True,
    limit: int = 50,
    after: tuple[dt.datetime, UUID] | None = None,
    settle: dt.timedelta = dt.timedelta(0),
) -> list[StoredOrder]:
    """A page of orders.

    Oldest-first walks (the way a client syncs) show only rows whose time is at least
    ``settle`` old. A transaction that stamped an earlier time may commit after a later one
    has been read; were it shown at once, the next page's cursor would already be past it.
    Newest-first pages need no such wait: a late commit lands ahead of the cursor.
    """
    until = _now() - settle if settle and not descending else None
    return await store.list_page(
        conn,
        principal.organisation_id,
        flt,
        sort=sort,
        descending=descending,
        limit=limit,
        after=after,
        until=until,
    )


# --- lifecycle -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FulfilLine:
    line_id: str
    quantity: int


def _changed(order: StoredOrder) -> None:
    order.version += 1
    order.updated_at = _now()


async def fulfil(
    conn: AsyncConnection,
    principal: Principal,
    order_id: UUID,
    lines: Sequence[FulfilLine] | None,
    tracking: dict[str, Any] | None = None,
) -> StoredOrder:
    """Record a fulfilment of some line quantities (``None``: everything not yet fulfilled).

    An unknown line is a 422 with its pointer; more than what remains, or a final order, is a
    409 ``invalid_transition``; either way nothing changes.
    """
    order = await get(conn, principal, order_id, for_update=True)
    status = Status(order.status)
    remaining = lifecycle.remaining_quantities(order.doc["items"], order.fulfillments)
    if lines is None:
        lines = [FulfilLine(line_id, qty) for line_id, qty in remaining.items()]
    else:
        known = {item["line_id"] for item in order.doc["items"]}
        unknown = [
            FieldError(f"/items/{i}/line_id", "unknown_line", f"No line {line.line_id!r}")
            for i, line in enumerate(lines)
            if line.line_id not in known
        ]
        if unknown:
            raise ValidationFailed(unknown)
    if status in (Status.FULFILLED, Status.CANCELLED):
        raise InvalidTransition(f"The order is {status}: nothing more can be fulfilled")
    wanted: dict[str, int] = {}
    for line in lines:
        wanted[line.line_id] = wanted.get(line.line_id, 0) + line.quantity
    for line_id, qty in wanted.items():
        if qty > remaining.get(line_id, 0):
            raise InvalidTransition(
                f"Line {line_id!r} has {remaining.get(line_id, 0)} left to fulfil, not {qty}"
            )
    if not wanted:
        raise InvalidTransition("Nothing is left to fulfil")
    _changed(order)
    fulfillment = {
        "id": str(uuid_utils.uuid7()),
        "items": [{"line_id": k, "quantity": v} for k, v in wanted.items()],
        "tracking": tracking,
        "created_at": iso_utc(order.updated_at),
    }
    new_status = lifecycle.status_of(order.doc["items"], [*order.fulfillments, fulfillment])
    lifecycle.check_transition(status, new_status)
    order.fulfillments = [*order.fulfillments, fulfillment]
    order.status = new_status
    position = await store.update(conn, order, previous_doc=order.doc)
    await history.append(conn, [history.fulfilled(order, fulfillment, principal.key_id)])
    await outbox.append(conn, [event_of(order, "order.fulfilled")], txid=position)
    return order


async def cancel(
    conn: AsyncConnection,
    principal: Principal,
    order_id: UUID,
    reason: str,
    note: str | None = None,
    *,
    at: dt.datetime | None = None,
) -> StoredOrder:
    """Cancel an order that is not final (409 ``invalid_transition`` otherwise); ``at`` is
    when it was cancelled, if not now."""
    order = await get(conn, principal, order_id, for_update=True)
    lifecycle.check_transition(Status(order.status), Status.CANCELLED)
    _changed(order)
    order.status = Status.CANCELLED
    order.cancellation = {
        "reason": reason,
        "note": note,
        "cancelled_at": iso_utc(at or order.updated_at),
    }
    position = await store.update(conn, order, previous_doc=order.doc)
    await history.append(conn, [history.cancelled(order, principal.key_id)])
    await outbox.append(conn, [event_of(order, "order.cancelled")], txid=position)
    return order


async def order_history(
    conn: AsyncConnection, principal: Principal, order_id: UUID
) -> list[dict[str, Any]]:
    await get(conn, principal, order_id)
    return await history.entries(conn, principal.organisation_id, order_id)
