"""Webhook endpoints: where an organisation wants its events delivered.

Secrets use the Standard Webhooks format ``whsec_<base64 of 24–64 random bytes>``: given by
the client or generated, shown once on creation, never listed again.

Outbound URL policy: http(s) only, and no target that would let a tenant reach inside the
operator's network (loopback, private, link-local, and other non-global addresses, or
``localhost``), unless ``ORDERGATE_WEBHOOK_ALLOW_PRIVATE=true``. Names are checked here as
written; the dispatcher checks the addresses a name resolves to when it delivers.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import ipaddress
import secrets
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

import sqlalchemy as sa
import uuid_utils.compat as uuid_utils
from sqlalchemy.ext.asyncio import AsyncConnection

from ordergate.errors import FieldError, NotFound
from ordergate.events import outbox
from ordergate.events.tables import webhook_endpoints
from ordergate.orders.fields import iso_utc

EVENT_TYPES = (
    "order.created",
    "order.updated",
    "order.fulfilled",
    "order.cancelled",
    "import.completed",
)
SECRET_PREFIX = "whsec_"


class EndpointNotFound(NotFound):
    code = "webhook_not_found"
    title = "Webhook endpoint not found"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_errors(secret: str, ptr: str = "/secret") -> list[FieldError]:
    key = secret.removeprefix(SECRET_PREFIX)
    try:
        raw = base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if not secret.startswith(SECRET_PREFIX) or not 24 <= len(raw) <= 64:
        detail = "A secret is whsec_ followed by the base64 of 24 to 64 bytes"
        return [FieldError(ptr, "invalid_secret", detail)]
    return []


def url_errors(url: str, *, allow_private: bool, ptr: str = "/url") -> list[FieldError]:
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
        host = (parts.hostname or "").rstrip(".").lower()
        host.encode("idna")  # a name that cannot be resolved (label too long, ...)
    except (ValueError, UnicodeError):
        host = ""
    if parts.scheme not in ("http", "https") or not host:
        return [FieldError(ptr, "invalid_url", "An absolute http(s) URL is expected")]
    if parts.username is not None or parts.password is not None:
        detail = "Credentials in the URL are not accepted: deliveries are signed instead"
        return [FieldError(ptr, "invalid_url", detail)]
    if allow_private:
        return []
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        private_name = host == "localhost" or host.endswith(".localhost")
        if not private_name:
            return []
        return [FieldError(ptr, "private_target", "localhost is not a webhook target")]
    if not address.is_global:
        return [
            FieldError(
                ptr,
                "private_target",
                "Loopback, private and link-local addresses are not webhook targets",
            )
        ]
    return []


def event_type_errors(types: list[str] | None, ptr: str = "/event_types") -> list[FieldError]:
    return [
        FieldError(f"{ptr}/{i}", "unknown_event_type", f"One of {', '.join(EVENT_TYPES)}")
        for i, t in enumerate(types or [])
        if t not in EVENT_TYPES
    ]


def render(row: Any, *, with_secret: bool = False) -> dict[str, Any]:
    out = {
        "id": str(row.id),
        "url": row.url,
        "event_types": row.event_types,
        "enabled": row.enabled,
        "created_at": iso_utc(row.created_at),
        "updated_at": iso_utc(row.updated_at),
    }
    if with_secret:
        out["secret"] = row.secret
    return out


async def create(
    conn: AsyncConnection,
    org_id: UUID,
    *,
    url: str,
    event_types: list[str] | None,
    secret: str | None,
    enabled: bool,
) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    endpoint_id = uuid_utils.uuid7()
    # Events from now on: those already written are not sent to a new endpoint.
    cursor_txid, cursor_event_id = await outbox.end_of_feed(conn, org_id)
    values = {
        "organisation_id": org_id,
        "id": endpoint_id,
        "url": url,
        "event_types": event_types,
        "secret": secret or new_secret(),
        "enabled": enabled,
        "created_at": now,
        "updated_at": now,
        "cursor_txid": cursor_txid,
        "cursor_event_id": cursor_event_id,
    }
    await conn.execute(webhook_endpoints.insert().values(**values))
    return render(await get(conn, org_id, endpoint_id), with_secret=True)


async def get(conn: AsyncConnection, org_id: UUID, endpoint_id: UUID) -> Any:
    c = webhook_endpoints.c
    row = (
        await conn.execute(
            sa.select(webhook_endpoints).where(c.organisation_id == org_id, c.id == endpoint_id)
        )
    ).first()
    if row is None:
        raise EndpointNotFound(f"No webhook endpoint {endpoint_id}")
    return row


async def list_all(conn: AsyncConnection, org_id: UUID) -> list[dict[str, Any]]:
    c = webhook_endpoints.c
    rows = await conn.execute(
        sa.select(webhook_endpoints).where(c.organisation_id == org_id).order_by(c.id)
    )
    return [render(r) for r in rows]


async def update(
    conn: AsyncConnection, org_id: UUID, endpoint_id: UUID, changes: dict[str, Any]
) -> dict[str, Any]:
    await get(conn, org_id, endpoint_id)
    c = webhook_endpoints.c
    if changes:
        await conn.execute(
            webhook_endpoints.update()
            .where(c.organisation_id == org_id, c.id == endpoint_id)
            .values(**changes, updated_at=dt.datetime.now(dt.UTC))
        )
    return render(await get(conn, org_id, endpoint_id))


async def delete(conn: AsyncConnection, org_id: UUID, endpoint_id: UUID) -> None:
    await get(conn, org_id, endpoint_id)
    c = webhook_endpoints.c
    await conn.execute(
        webhook_endpoints.delete().where(c.organisation_id == org_id, c.id == endpoint_id)
    )
