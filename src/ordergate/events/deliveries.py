"""Every SQL statement about webhook deliveries. Nothing here commits: the caller (the
dispatcher or a route) owns the transaction.

A delivery is one event for one endpoint. Its life:

1. **Fan-out** queues it: the dispatcher reads each endpoint's part of the event feed after
   the endpoint's cursor (the same visibility rule as ``GET /v1/events``, so no late commit is
   skipped), inserts a ``pending`` delivery per matching event and moves the cursor, in one
   transaction. Intake writes nothing for webhooks and never waits for them.
2. **Claim**: a dispatcher takes due pending deliveries with ``FOR UPDATE SKIP LOCKED`` and
   leases them (``lease_token``, ``lease_until``); others skip them until the lease expires,
   so one attempt is made by one dispatcher, and a dead dispatcher's claims are taken over.
   A delivery is not due while an earlier event of the same order is still pending for the
   same endpoint: one order's events go out in ``seq`` order.
3. **Finish**: the attempt is logged, and the delivery becomes ``succeeded``, ``pending`` again
   with its next attempt scheduled, or ``failed`` when its attempts are used up.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import sqlalchemy as sa
import uuid_utils.compat as uuid_utils
from sqlalchemy.ext.asyncio import AsyncConnection

from ordergate import db
from ordergate.errors import Conflict, NotFound
from ordergate.events import outbox
from ordergate.events.tables import events, webhook_attempts, webhook_deliveries, webhook_endpoints
from ordergate.orders.fields import iso_utc

PENDING, SUCCEEDED, FAILED = "pending", "succeeded", "failed"

d = webhook_deliveries.c
w = webhook_endpoints.c
e = events.c


class DeliveryNotFound(NotFound):
    code = "delivery_not_found"
    title = "Delivery not found"


class DeliveryInProgress(Conflict):
    code = "delivery_in_progress"
    title = "Delivery in progress"


# --- fan-out -------------------------------------------------------------------------------


def _after_cursor() -> sa.ColumnElement[bool]:
    return sa.and_(
        e.organisation_id == w.organisation_id,
        sa.tuple_(e.txid, e.id) > sa.tuple_(w.cursor_txid, w.cursor_event_id),
    )


async def endpoints_behind(conn: AsyncConnection, limit: int, *, lock: bool) -> list[Any]:
    """Endpoints with visible events after their cursor. With ``lock``, the rows are locked
    for the caller's transaction, skipping those another dispatcher is fanning out."""
    behind = sa.exists().where(_after_cursor(), *outbox.visible(conn))
    stmt = sa.select(webhook_endpoints).where(behind).limit(limit)
    if lock:
        stmt = stmt.with_for_update(skip_locked=True, of=webhook_endpoints)
    return list(await conn.execute(stmt))


async def fan_out(
    conn: AsyncConnection, endpoint: Any, *, batch: int, max_attempts: int, now: dt.datetime
) -> tuple[int, bool]:
    """Queue the endpoint's next events (up to ``batch``) and move its cursor past them.
    Returns how many deliveries were queued, and whether the batch was full (more may wait)."""
    rows = list(
        await conn.execute(
            sa.select(e.txid, e.id, e.type, e.order_id, e.seq)
            .where(
                e.organisation_id == endpoint.organisation_id,
                sa.tuple_(e.txid, e.id)
                > sa.tuple_(sa.literal(endpoint.cursor_txid), sa.literal(endpoint.cursor_event_id)),
                *outbox.visible(conn),
            )
            .order_by(e.txid, e.id)
            .limit(batch)
        )
    )
    if not rows:
        return 0, False
    wanted = endpoint.event_types
    queued = [
        {
            "organisation_id": endpoint.organisation_id,
            "id": uuid_utils.uuid7(),
            "endpoint_id": endpoint.id,
            "event_id": r.id,
            "event_type": r.type,
            "order_id": r.order_id,
            "seq": r.seq,
            "status": PENDING,
            "attempts": 0,
            "max_attempts": max_attempts,
            "next_attempt_at": now,
            "created_at": now,
            "updated_at": now,
        }
        for r in rows
        if endpoint.enabled and (wanted is None or r.type in wanted)
    ]
    if queued:
        # A delivery already queued for the same event (cannot happen while the endpoint row
        # is locked; kept as a guard) is left as it is.
        insert = db.insert_ignoring_conflicts(
            conn, webhook_deliveries, ["organisation_id", "endpoint_id", "event_id"]
        )
        await conn.execute(insert, queued)
    last = rows[-1]
    await conn.execute(
        webhook_endpoints.update()
        .where(w.organisation_id == endpoint.organisation_id, w.id == endpoint.id)
        .values(cursor_txid=last.txid, cursor_event_id=last.id)
    )
    return len(queued), len(rows) == batch


# --- claim and finish ----------------------------------------------------------------------


@dataclass(slots=True, frozen=True)
class Claimed:
    """A leased delivery with what its attempt needs."""

    organisation_id: UUID
    id: UUID
    endpoint_id: UUID
    lease_token: UUID
    attempts: int  # made before this one
    max_attempts: int
    url: str
    secret: str
    event: dict[str, Any]


def _due(now: dt.datetime) -> list[sa.ColumnElement[bool]]:
    earlier = webhook_deliveries.alias("earlier")
    waits_for_earlier = sa.exists().where(
        earlier.c.organisation_id == d.organisation_id,
        earlier.c.endpoint_id == d.endpoint_id,
        earlier.c.order_id == d.order_id,
        earlier.c.seq < d.seq,
        earlier.c.status == PENDING,
    )
    return [
        d.status == PENDING,
        d.next_attempt_at <= now,
        sa.or_(d.lease_until.is_(None), d.lease_until < now),
        ~waits_for_earlier,
    ]


async def claim(
    conn: AsyncConnection, *, now: dt.datetime, limit: int, lease_seconds: float
) -> list[Claimed]:
    """Lease up to ``limit`` due deliveries of enabled endpoints, oldest due first."""
    enabled = sa.exists().where(
        w.organisation_id == d.organisation_id, w.id == d.endpoint_id, w.enabled.is_(True)
    )
    picked = list(
        await conn.execute(
            sa.select(d.organisation_id, d.id)
            .where(*_due(now), enabled)
            .order_by(d.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True, of=webhook_deliveries)
        )
    )
    if not picked:
        return []
    token = uuid_utils.uuid4()
    keys = [(r.organisation_id, r.id) for r in picked]
    await conn.execute(
        webhook_deliveries.update()
        .where(sa.tuple_(d.organisation_id, d.id).in_(keys))
        .values(lease_token=token, lease_until=now + dt.timedelta(seconds=lease_seconds))
    )
    rows = await conn.execute(
        sa.select(
            d.organisation_id,
            d.id.label("delivery_id"),  # "id" is the event's, as outbox.render reads it
            d.endpoint_id,
            d.attempts,
            d.max_attempts,
            w.url,
            w.secret,
            *outbox.event_columns(),
        )
        .join(
            webhook_endpoints,
            sa.and_(w.organisation_id == d.organisation_id, w.id == d.endpoint_id),
        )
        .join(events, sa.and_(e.organisation_id == d.organisation_id, e.id == d.event_id))
        .where(sa.tuple_(d.organisation_id, d.id).in_(keys))
    )
    return [
        Claimed(
            organisation_id=r.organisation_id,
            id=r.delivery_id,
            endpoint_id=r.endpoint_id,
            lease_token=token,
            attempts=r.attempts,
            max_attempts=r.max_attempts,
            url=r.url,
            secret=r.secret,
            event=outbox.render(r),
        )
        for r in rows
    ]


@dataclass(slots=True, frozen=True)
class Attempt:
    attempted_at: dt.datetime
    latency_ms: int
    status_code: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _still_held(claimed: Claimed) -> list[sa.ColumnElement[bool]]:
    """The claimed delivery, while its lease is still the claimer's."""
    return [
        d.organisation_id == claimed.organisation_id,
        d.id == claimed.id,
        d.lease_token == claimed.lease_token,
    ]


async def finish(
    conn: AsyncConnection,
    claimed: Claimed,
    attempt: Attempt,
    *,
    retry_after: dt.timedelta,
    now: dt.datetime,
) -> str | None:
    """Log the attempt and settle the delivery. Returns its new status, or None when the lease
    was lost (another dispatcher took the delivery over; its own attempt will be logged)."""
    number = claimed.attempts + 1
    if attempt.ok:
        status, next_at = SUCCEEDED, None
    elif number >= claimed.max_attempts:
        status, next_at = FAILED, None
    else:
        status, next_at = PENDING, now + retry_after
    error = attempt.error[:500] if attempt.error else None
    result = await conn.execute(
        webhook_deliveries.update()
        .where(*_still_held(claimed))
        .values(
            status=status,
            attempts=number,
            next_attempt_at=next_at,
            lease_token=None,
            lease_until=None,
            last_status_code=attempt.status_code,
            last_error=error,
            updated_at=now,
        )
    )
    if result.rowcount != 1:
        return None
    await conn.execute(
        webhook_attempts.insert().values(
            organisation_id=claimed.organisation_id,
            delivery_id=claimed.id,
            attempt=number,
            attempted_at=attempt.attempted_at,
            status_code=attempt.status_code,
            latency_ms=attempt.latency_ms,
            error=error,
            next_attempt_at=next_at,
        )
    )
    return status


async def release(conn: AsyncConnection, claimed: list[Claimed]) -> int:
    """Give back leases whose attempts were cut short (a dispatcher stopping): due again at
    once for any dispatcher, with no attempt counted or logged. Only while the lease is still
    the caller's; returns how many were given back."""
    released = 0
    for c in claimed:
        result = await conn.execute(
            webhook_deliveries.update()
            .where(*_still_held(c))
            .values(lease_token=None, lease_until=None)
        )
        released += result.rowcount
    return released


async def queue_depth(conn: AsyncConnection) -> int:
    """Pending deliveries, over every organisation."""
    count = await conn.scalar(sa.select(sa.func.count()).where(d.status == PENDING))
    return int(count or 0)


# --- the delivery log ----------------------------------------------------------------------


def _render(row: Any, attempts: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "endpoint_id": str(row.endpoint_id),
        "event_id": row.event_id,
        "event_type": row.event_type,
        "order_id": str(row.order_id) if row.order_id else None,
        "seq": row.seq,
        "status": row.status,
        "next_attempt_at": iso_utc(row.next_attempt_at) if row.next_attempt_at else None,
        "created_at": iso_utc(row.created_at),
        "updated_at": iso_utc(row.updated_at),
        "attempts": attempts,
    }


async def _attempts(
    conn: AsyncConnection, org_id: UUID, delivery_ids: list[UUID]
) -> dict[UUID, list[dict[str, Any]]]:
    a = webhook_attempts.c
    out: dict[UUID, list[dict[str, Any]]] = {i: [] for i in delivery_ids}
    if not delivery_ids:
        return out
    rows = await conn.execute(
        sa.select(webhook_attempts)
        .where(a.organisation_id == org_id, a.delivery_id.in_(delivery_ids))
        .order_by(a.delivery_id, a.attempt)
    )
    for r in rows:
        out[r.delivery_id].append(
            {
                "attempt": r.attempt,
                "attempted_at": iso_utc(r.attempted_at),
                "status_code": r.status_code,
                "latency_ms": r.latency_ms,
                "error": r.error,
                "next_attempt_at": iso_utc(r.next_attempt_at) if r.next_attempt_at else None,
            }
        )
    return out


async def list_page(
    conn: AsyncConnection,
    org_id: UUID,
    endpoint_id: UUID,
    *,
    status: str | None,
    before: UUID | None,
    limit: int,
) -> tuple[list[dict[str, Any]], UUID | None]:
    """Newest first, with every attempt; the cursor is the last delivery's id."""
    stmt = sa.select(webhook_deliveries).where(
        d.organisation_id == org_id, d.endpoint_id == endpoint_id
    )
    if status is not None:
        stmt = stmt.where(d.status == status)
    if before is not None:
        stmt = stmt.where(d.id < before)
    rows = list(await conn.execute(stmt.order_by(d.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    attempts = await _attempts(conn, org_id, [r.id for r in rows])
    page = [_render(r, attempts[r.id]) for r in rows]
    return page, (rows[-1].id if more else None)


async def for_order(
    conn: AsyncConnection, org_id: UUID, endpoint_ids: list[UUID], order_id: UUID
) -> list[dict[str, Any]]:
    """Every delivery of one order's events, by ``seq``, with every attempt. The endpoints are
    named so that the (organisation_id, endpoint_id, order_id, seq) index serves the look-up."""
    if not endpoint_ids:
        return []
    rows = list(
        await conn.execute(
            sa.select(webhook_deliveries)
            .where(
                d.organisation_id == org_id,
                d.endpoint_id.in_(endpoint_ids),
                d.order_id == order_id,
            )
            .order_by(d.seq, d.id)
        )
    )
    attempts = await _attempts(conn, org_id, [r.id for r in rows])
    return [_render(r, attempts[r.id]) for r in rows]


async def recent(
    conn: AsyncConnection,
    org_id: UUID,
    *,
    failed_only: bool,
    before: UUID | None,
    limit: int,
) -> tuple[list[dict[str, Any]], UUID | None]:
    """The organisation's deliveries (or only the failed ones) newest first, with every
    attempt. Ids are UUIDv7, so the primary key is in time order; failed ones have an index
    of their own."""
    stmt = sa.select(webhook_deliveries).where(d.organisation_id == org_id)
    if failed_only:
        # Spelled as a literal, not a bound parameter: only then can the planners (SQLite's
        # and PostgreSQL's generic plans) prove that the partial index applies.
        stmt = stmt.where(d.status == sa.literal_column(f"'{FAILED}'"))
    if before is not None:
        stmt = stmt.where(d.id < before)
    rows = list(await conn.execute(stmt.order_by(d.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    attempts = await _attempts(conn, org_id, [r.id for r in rows])
    return [_render(r, attempts[r.id]) for r in rows], (rows[-1].id if more else None)


def _first_id_at(at: dt.datetime) -> UUID:
    """The smallest UUIDv7 of the millisecond ``at``: a bound for range scans by time."""
    ms = int(at.timestamp() * 1000)
    return UUID(int=(ms << 80) | (0x7 << 76) | (0b10 << 62))


async def count_by_status(
    conn: AsyncConnection, org_id: UUID, start: dt.datetime, end: dt.datetime
) -> dict[str, int]:
    """Deliveries queued in ``[start, end)``, counted per status: a range scan of the primary
    key (UUIDv7 ids), bounded by the window."""
    rows = await conn.execute(
        sa.select(d.status, sa.func.count())
        .where(
            d.organisation_id == org_id,
            d.id >= _first_id_at(start),
            d.id < _first_id_at(end),
        )
        .group_by(d.status)
    )
    return {status: int(n) for status, n in rows}


async def _get_row(
    conn: AsyncConnection, org_id: UUID, endpoint_id: UUID, delivery_id: UUID
) -> Any:
    row = (
        await conn.execute(
            sa.select(webhook_deliveries).where(
                d.organisation_id == org_id, d.endpoint_id == endpoint_id, d.id == delivery_id
            )
        )
    ).first()
    if row is None:
        raise DeliveryNotFound(f"No delivery {delivery_id} for webhook endpoint {endpoint_id}")
    return row


async def get(
    conn: AsyncConnection, org_id: UUID, endpoint_id: UUID, delivery_id: UUID
) -> dict[str, Any]:
    row = await _get_row(conn, org_id, endpoint_id, delivery_id)
    return _render(row, (await _attempts(conn, org_id, [row.id]))[row.id])


async def retry(
    conn: AsyncConnection, org_id: UUID, endpoint_id: UUID, delivery_id: UUID, now: dt.datetime
) -> dict[str, Any]:
    """Make the next attempt as soon as a dispatcher is free.

    A pending delivery waiting for its next retry is brought forward. A succeeded or failed
    one is queued for one more attempt (it is redelivered with the same ``webhook-id``). A
    delivery that a dispatcher is attempting right now is a 409.
    """
    row = await _get_row(conn, org_id, endpoint_id, delivery_id)
    if row.status == PENDING and row.lease_until is not None and row.lease_until > now:
        raise DeliveryInProgress("The delivery is being attempted right now")
    await conn.execute(
        webhook_deliveries.update()
        .where(d.organisation_id == org_id, d.id == delivery_id)
        .values(
            status=PENDING,
            next_attempt_at=now,
            # A pending delivery keeps its schedule; a settled one gets one more attempt.
            max_attempts=d.max_attempts if row.status == PENDING else d.attempts + 1,
            updated_at=now,
        )
    )
    return await get(conn, org_id, endpoint_id, delivery_id)
