"""An order's history: append-only, one entry per change, keyed by the version it produced.

One small function per kind of entry builds its row; :func:`append` writes rows set-based.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ordergate.orders.documents import changes
from ordergate.orders.fields import iso_utc
from ordergate.orders.tables import order_history

KINDS = ("created", "replaced", "patched", "fulfilled", "cancelled")


def _row(
    order: Any, key_id: str | None, submission_id: UUID | None, kind: str, data: Any
) -> dict[str, Any]:
    return {
        "organisation_id": order.organisation_id,
        "order_id": order.id,
        "version": order.version,
        "at": order.updated_at,
        "key_id": key_id,
        "submission_id": submission_id,
        "kind": kind,
        "data": data,
    }


def created(order: Any, key_id: str | None, submission_id: UUID | None) -> dict[str, Any]:
    return _row(order, key_id, submission_id, "created", {"submitted_via": order.submitted_via})


def replaced(
    order: Any, previous: dict[str, Any], key_id: str | None, submission_id: UUID | None
) -> dict[str, Any]:
    data = {"submitted_via": order.submitted_via, "changes": changes(previous, order.doc)}
    return _row(order, key_id, submission_id, "replaced", data)


def patched(
    order: Any, previous: dict[str, Any], key_id: str | None, submission_id: UUID | None
) -> dict[str, Any]:
    data = {"changes": changes(previous, order.doc)}
    return _row(order, key_id, submission_id, "patched", data)


def fulfilled(order: Any, fulfillment: dict[str, Any], key_id: str | None) -> dict[str, Any]:
    data = {"fulfillment": fulfillment, "status": order.status}
    return _row(order, key_id, None, "fulfilled", data)


def cancelled(order: Any, key_id: str | None) -> dict[str, Any]:
    return _row(order, key_id, None, "cancelled", {"cancellation": order.cancellation})


async def append(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(order_history.insert(), list(rows))


async def entries(conn: AsyncConnection, org_id: UUID, order_id: UUID) -> list[dict[str, Any]]:
    """The order's history, oldest first, as the API returns it."""
    c = order_history.c
    rows = await conn.execute(
        sa.select(c.version, c.at, c.key_id, c.submission_id, c.kind, c.data)
        .where(c.organisation_id == org_id, c.order_id == order_id)
        .order_by(c.version)
    )
    return [
        {
            "version": r.version,
            "at": iso_utc(r.at),
            "key_id": r.key_id,
            "submission_id": str(r.submission_id) if r.submission_id else None,
            "kind": r.kind,
            **(r.data or {}),
        }
        for r in rows
    ]
