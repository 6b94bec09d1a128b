"""``POST /v1/orders/batch``: up to 1,000 orders in one request, one result per entry."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from ordergate.api.deps import AppSettings, Db
from ordergate.api.openapi import inline_body, problems
from ordergate.errors import FieldError, ValidationFailed
from ordergate.intake import batch, submissions
from ordergate.orders.model import Order, validate_as
from ordergate.tenancy.auth import OrdersWrite
from ordergate.web import json_response, parse_json, read_json_body

router = APIRouter(prefix="/v1/orders", tags=["orders"])

MAX_ORDERS = 1000


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    orders: list[Any] = Field(min_length=1, max_length=MAX_ORDERS, description="Orders")
    mode: Literal["create", "upsert"] = Field(
        default="create",
        description="create: like POST /v1/orders; upsert: like PUT /v1/orders/by-ref/{ref}",
    )
    atomic: bool = Field(default=False, description="All or nothing")


class EntryOut(BaseModel):
    index: int
    outcome: Literal["created", "updated", "unchanged", "duplicate", "conflict", "invalid"]
    id: str | None = None
    errors: list[dict[str, str]] | None = Field(
        default=None, description="Pointers into this entry's order"
    )


class BatchOut(BaseModel):
    results: list[EntryOut]


def _batch_body() -> dict[str, Any]:
    extra = inline_body(BatchIn)
    schema = extra["requestBody"]["content"]["application/json"]["schema"]
    schema["properties"]["orders"]["items"] = {"$ref": "#/components/schemas/Order"}
    return extra


@router.post(
    "/batch",
    summary="Create or upsert up to 1,000 orders",
    description=(
        "One result per entry, in input order. Not atomic (default): valid entries are "
        "stored whatever happens to the others. `atomic: true`: all or nothing; any invalid "
        "or conflicting entry answers 422 listing every failing entry, and nothing is stored."
    ),
    openapi_extra=_batch_body(),
    responses={200: {"model": BatchOut}, **problems(413, 415, 422)},
)
async def create_batch(
    request: Request, principal: OrdersWrite, db: Db, settings: AppSettings
) -> Response:
    sub = submissions.start(principal, request)
    async with submissions.recording(db, sub):
        sub.body = await read_json_body(request, settings.batch_max_bytes)
        body = validate_as(BatchIn, parse_json(sub.body))
        validated = [batch.validate(i, raw) for i, raw in enumerate(body.orders)]
        invalid = [v for v in validated if isinstance(v, batch.EntryResult)]
        if body.atomic and invalid:
            raise _atomic_failure(invalid)
        entries = [(i, v) for i, v in enumerate(validated) if isinstance(v, Order)]
        async with db.write() as conn:
            written = await batch.apply(
                conn, principal, entries, mode=body.mode, submission_id=sub.id, via="api"
            )
            if body.atomic and any(r.outcome in batch.FAILED for r in written):
                raise _atomic_failure([r for r in written if r.outcome in batch.FAILED])
            results = sorted(invalid + written, key=lambda r: r.index)
            ids = list(dict.fromkeys(r.id for r in results if r.id is not None))
            errors = [r.as_dict() for r in results if r.errors]
            row = sub.row(status_code=200, outcome="batch", order_ids=ids, errors=errors or None)
            await submissions.record(conn, [row])
        sub.recorded = True
    return json_response(
        {"results": [r.as_dict() for r in results]}, 200, {submissions.HEADER: str(sub.id)}
    )


def _atomic_failure(failed: list[batch.EntryResult]) -> ValidationFailed:
    """Every failing entry's errors, with pointers from the batch's root."""
    errors: list[FieldError] = []
    for r in sorted(failed, key=lambda r: r.index):
        prefix = f"/orders/{r.index}"
        errors += [FieldError(prefix + e.pointer, e.code, e.detail) for e in r.errors]
    error = ValidationFailed(errors)
    error.extra["failed_indexes"] = sorted(r.index for r in failed)
    return error
