"""``/v1/webhooks``: webhook endpoints (scope ``webhooks:manage``)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from ordergate.api.deps import AppSettings, Db
from ordergate.api.openapi import inline_body, problems
from ordergate.errors import FieldError, ValidationFailed
from ordergate.events import endpoints
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
