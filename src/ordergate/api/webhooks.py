"""``/v1/webhooks``: webhook endpoints and their delivery logs (scope ``webhooks:manage``)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from ordergate.api.deps import AppSettings, Db
from ordergate.api.openapi import inline_body, problems
from ordergate.errors import FieldError, ValidationFailed
from ordergate.events import deliveries, endpoints
from ordergate.orders.model import validate_as
from ordergate.tenancy.auth import WebhooksManage
from ordergate.web import json_response, read_json

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])

Url = Annotated[str, Field(min_length=1, max_length=2048)]


class EndpointIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    url: Url
    event_types: list[str] | None = Field(
        default=None, max_length=len(endpoints.EVENT_TYPES), description="Omitted: every type"
    )
    secret: str | None = Field(
        default=None, max_length=128, description="whsec_…; generated when omitted"
    )
    enabled: bool = True


class EndpointPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    url: Url | None = None
    event_types: list[str] | None = None
    enabled: bool | None = None


class EndpointOut(BaseModel):
    id: str
    url: str
    event_types: list[str] | None
    enabled: bool
    created_at: str
    updated_at: str
    secret: str | None = Field(default=None, description="Only in the answer to the create")


def _check(
    url: str | None, event_types: list[str] | None, secret: str | None, allow_private: bool
) -> None:
    errors: list[FieldError] = []
    if url is not None:
        errors += endpoints.url_errors(url, allow_private=allow_private)
    errors += endpoints.event_type_errors(event_types)
    if secret is not None:
        errors += endpoints.secret_errors(secret)
    if errors:
        raise ValidationFailed(errors)


@router.post(
    "",
    status_code=201,
    summary="Create a webhook endpoint (its secret is shown only in this answer)",
    openapi_extra=inline_body(EndpointIn),
    responses={201: {"model": EndpointOut}, **problems(413, 415, 422)},
)
async def create_endpoint(
    request: Request, principal: WebhooksManage, db: Db, settings: AppSettings
) -> Response:
    _, raw = await read_json(request, settings.max_body_bytes)
    body = validate_as(EndpointIn, raw)
    _check(body.url, body.event_types, body.secret, settings.webhook_allow_private)
    async with db.write() as conn:
        created = await endpoints.create(
            conn,
            principal.organisation_id,
            url=body.url,
            event_types=body.event_types,
            secret=body.secret,
            enabled=body.enabled,
        )
    return json_response(created, 201, {"Location": f"/v1/webhooks/{created['id']}"})


@router.get("", summary="List webhook endpoints")
async def list_endpoints(principal: WebhooksManage, db: Db) -> Response:
    async with db.read() as conn:
        return json_response({"data": await endpoints.list_all(conn, principal.organisation_id)})


@router.get(
    "/{endpoint_id}",
    summary="Get a webhook endpoint",
    responses={200: {"model": EndpointOut}, **problems(404)},
)
async def get_endpoint(endpoint_id: UUID, principal: WebhooksManage, db: Db) -> Response:
    async with db.read() as conn:
        row = await endpoints.get(conn, principal.organisation_id, endpoint_id)
    return json_response(endpoints.render(row))


@router.patch(
    "/{endpoint_id}",
    summary="Change a webhook endpoint's url, event types or enabled flag",
    openapi_extra=inline_body(EndpointPatch),
    responses={200: {"model": EndpointOut}, **problems(404, 413, 415, 422)},
)
async def patch_endpoint(
    endpoint_id: UUID,
    request: Request,
    principal: WebhooksManage,
    db: Db,
    settings: AppSettings,
) -> Response:
    _, raw = await read_json(
        request, settings.max_body_bytes, also_accept=("application/merge-patch+json",)
    )
    body = validate_as(EndpointPatch, raw)
    changes = body.model_dump(exclude_unset=True)
    if changes.get("url", "") is None or changes.get("enabled", False) is None:
        raise ValidationFailed([FieldError("", "invalid", "url and enabled cannot be null")])
    _check(body.url, body.event_types, None, settings.webhook_allow_private)
    async with db.write() as conn:
        updated = await endpoints.update(conn, principal.organisation_id, endpoint_id, changes)
    return json_response(updated)


@router.delete(
    "/{endpoint_id}",
    status_code=204,
    summary="Delete a webhook endpoint",
    responses={**problems(404)},
)
async def delete_endpoint(endpoint_id: UUID, principal: WebhooksManage, db: Db) -> Response:
    async with db.write() as conn:
        await endpoints.delete(conn, principal.organisation_id, endpoint_id)
    return Response(status_code=204)


class AttemptOut(BaseModel):
    attempt: int = Field(description="1 for the first attempt")
    attempted_at: str
    status_code: int | None = Field(description="The receiver's HTTP status; null: no answer")
    latency_ms: int
    error: str | None = Field(description="Why it failed: no answer, refused, or the answer")
    next_attempt_at: str | None = Field(description="The retry this failure scheduled")


class DeliveryOut(BaseModel):
    id: str = Field(description="Sent as the webhook-id header, the same on every attempt")
    endpoint_id: str
    event_id: int
    event_type: str
    order_id: str | None
    seq: int
    status: str = Field(description="pending, succeeded or failed (attempts used up)")
    next_attempt_at: str | None
    created_at: str
    updated_at: str
    attempts: list[AttemptOut]


class DeliveryPage(BaseModel):
    data: list[DeliveryOut]
    next_cursor: str | None


@router.get(
    "/{endpoint_id}/deliveries",
    summary="The endpoint's delivery log, newest first, with every attempt",
    responses={200: {"model": DeliveryPage}, **problems(400, 404)},
)
async def list_deliveries(
    endpoint_id: UUID,
    principal: WebhooksManage,
    db: Db,
    status: Annotated[Literal["pending", "succeeded", "failed"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[UUID | None, Query(description="next_cursor of the previous page")] = None,
) -> Response:
    org = principal.organisation_id
    async with db.read() as conn:
        await endpoints.get(conn, org, endpoint_id)
        page, last = await deliveries.list_page(
            conn, org, endpoint_id, status=status, before=cursor, limit=limit
        )
    return json_response({"data": page, "next_cursor": str(last) if last else None})


@router.get(
    "/{endpoint_id}/deliveries/{delivery_id}",
    summary="One delivery with every attempt",
    responses={200: {"model": DeliveryOut}, **problems(404)},
)
async def get_delivery(
    endpoint_id: UUID, delivery_id: UUID, principal: WebhooksManage, db: Db
) -> Response:
    async with db.read() as conn:
        await endpoints.get(conn, principal.organisation_id, endpoint_id)
        found = await deliveries.get(conn, principal.organisation_id, endpoint_id, delivery_id)
    return json_response(found)


@router.post(
    "/{endpoint_id}/deliveries/{delivery_id}/retry",
    status_code=202,
    summary="Attempt a delivery again now (a failed or succeeded one gets one more attempt)",
    responses={202: {"model": DeliveryOut}, **problems(404, 409)},
)
async def retry_delivery(
    endpoint_id: UUID, delivery_id: UUID, principal: WebhooksManage, db: Db
) -> Response:
    now = dt.datetime.now(dt.UTC)
    async with db.write() as conn:
        await endpoints.get(conn, principal.organisation_id, endpoint_id)
        queued = await deliveries.retry(
            conn, principal.organisation_id, endpoint_id, delivery_id, now
        )
    return json_response(queued, 202)
