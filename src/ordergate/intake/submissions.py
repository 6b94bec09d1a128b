"""The submissions log: every intake request, accepted or rejected, with its outcome.

A request gets its :class:`Submission` (and so its id, returned in ``Submission-Id``) when it
arrives. An accepted request's row is written in the same transaction as its orders; a
rejected one (422, 409, 415, …) in a small transaction of its own, so that support can
always answer "what happened to my request?".
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import sqlalchemy as sa
import uuid_utils.compat as uuid_utils
from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncConnection

from ordergate.db import Database
from ordergate.errors import InvalidParameter, OrdergateError, ValidationFailed
from ordergate.intake.tables import submissions
from ordergate.orders.fields import iso_utc
from ordergate.tenancy.auth import Principal

log = logging.getLogger("ordergate.intake")
HEADER = "Submission-Id"


@dataclass(slots=True)
class Submission:
    id: UUID
    principal: Principal
    dialect: str
    method: str
    path: str
    received_at: dt.datetime
    body: bytes | None = None
    recorded: bool = field(default=False)

    def row(
        self,
        *,
        status_code: int,
        outcome: str,
        order_ids: Sequence[UUID] = (),
        errors: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        return {
            "organisation_id": self.principal.organisation_id,
            "id": self.id,
            "received_at": self.received_at,
            "key_id": self.principal.key_id,
            "dialect": self.dialect,
            "method": self.method,
            "path": self.path[:2048],
            "status_code": status_code,
            "outcome": outcome,
            "order_ids": [str(i) for i in order_ids],
            "errors": errors,
            "body": self.body,
        }


def start(principal: Principal, request: Request, dialect: str = "api") -> Submission:
    return Submission(
        id=uuid_utils.uuid7(),
        principal=principal,
        dialect=dialect,
        method=request.method,
        path=request.url.path,
        received_at=dt.datetime.now(dt.UTC),
    )


async def record(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(submissions.insert(), list(rows))


def _error_outcome(exc: OrdergateError) -> tuple[str, list[dict[str, Any]]]:
    if isinstance(exc, ValidationFailed | InvalidParameter):
        return "invalid", [e.as_dict() for e in exc.errors]
    outcome = "conflict" if exc.status == 409 else "rejected"
    return outcome, [{"code": exc.code, "detail": exc.detail}]


@asynccontextmanager
async def recording(db: Database, submission: Submission) -> AsyncIterator[Submission]:
    """Record the submission if the block rejects it (an OrdergateError), unless the write
    that rejected it has already recorded it; the error carries the Submission-Id header."""
    try:
        yield submission
    except OrdergateError as exc:
        exc.headers[HEADER] = str(submission.id)
        if not submission.recorded:
            outcome, errors = _error_outcome(exc)
            row = submission.row(status_code=exc.status, outcome=outcome, errors=errors)
            try:
                async with db.write() as conn:
                    await record(conn, [row])
                submission.recorded = True
            except Exception:  # the rejection stands even if the log cannot be written
                log.exception("could not record rejected submission %s", submission.id)
        raise


async def get(conn: AsyncConnection, org_id: UUID, submission_id: UUID) -> dict[str, Any] | None:
    c = submissions.c
    row = (
        await conn.execute(
            sa.select(submissions).where(c.organisation_id == org_id, c.id == submission_id)
        )
    ).first()
    return None if row is None else _render(row)


async def get_many(
    conn: AsyncConnection, org_id: UUID, submission_ids: Sequence[UUID]
) -> list[dict[str, Any]]:
    """Several submissions by id (one query by primary key), oldest first."""
    if not submission_ids:
        return []
    c = submissions.c
    rows = await conn.execute(
        sa.select(submissions)
        .where(c.organisation_id == org_id, c.id.in_(list(submission_ids)))
        .order_by(c.received_at)
    )
    return [_render(r) for r in rows]


def _render(row: Any) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "received_at": iso_utc(row.received_at),
        "key_id": row.key_id,
        "dialect": row.dialect,
        "method": row.method,
        "path": row.path,
        "status_code": row.status_code,
        "outcome": row.outcome,
        "order_ids": row.order_ids,
        "errors": row.errors,
        "body": row.body.decode("utf-8", "replace") if row.body is not None else None,
    }
