"""``Idempotency-Key`` on every POST and PATCH (IETF httpapi idempotency-key draft).

The first request with a key claims it (a row ``in_flight``, committed at once), runs, and its
complete response (status, the headers that matter, body) is stored; a retry with the same key
and the same request gets that response again, byte for byte, with
``Idempotent-Replayed: true``. The same key with a different request is a 422; the same key
while the first is still running is a 409. Keys belong to an organisation and expire after
``ORDERGATE_IDEMPOTENCY_RETENTION_SECONDS``.

A claim whose request never finished (its process died) is taken over once it is older than
``ORDERGATE_IDEMPOTENCY_LOCK_SECONDS``. 5xx responses are not stored: the claim is released so
that the client's retry runs again; so is a 429. A key used by another API key is a
different request (422), so a replay never bypasses the scope check of the key that asks.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import logging
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ordergate import db as dbm
from ordergate.db import Database
from ordergate.errors import (
    BadRequest,
    Conflict,
    FieldError,
    OrdergateError,
    PayloadTooLarge,
    ValidationFailed,
)
from ordergate.intake.tables import idempotency_keys
from ordergate.settings import Settings
from ordergate.web import problem_response

log = logging.getLogger("ordergate.intake")

HEADER = b"idempotency-key"
REPLAYED = "Idempotent-Replayed"
METHODS = ("POST", "PATCH")
# Response headers worth replaying; the rest (date, server, length) belong to each response.
_KEPT = (
    "content-type",
    "location",
    "etag",
    "submission-id",
    "retry-after",
    "www-authenticate",
    "allow",
)


# Routes that honour Idempotency-Key themselves: an import's body (up to 200 MiB) is streamed,
# never held whole in memory as the replay here would need (see api/imports.py).
OWN_KEYS = frozenset({"/v1/imports"})


class KeyInFlight(Conflict):
    code = "idempotency_key_in_flight"
    title = "A request with this Idempotency-Key is still being processed"


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in METHODS or scope["path"] in OWN_KEYS:
            await self.app(scope, receive, send)
            return
        key = dict(scope["headers"]).get(HEADER)
        if key is None:
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        request = Request(scope, receive)
        try:
            principal = await state.authenticator.authenticate(request)
        except OrdergateError:  # the route answers with its own 401
            await self.app(scope, receive, send)
            return
        try:
            await _run(self.app, scope, receive, send, state, principal, key)
        except OrdergateError as exc:
            await problem_response(exc, instance=scope["path"])(scope, receive, send)


# Routes that read bodies up to batch_max_bytes.
BATCH_PATHS = frozenset({"/v1/orders/batch", "/reevoo/v4/customer_orders"})


async def _run(
    app: ASGIApp,
    scope: Scope,
    receive: Receive,
    send: Send,
    state: Any,
    principal: Any,
    raw_key: bytes,
) -> None:
    settings: Settings = state.settings
    db: Database = state.db
    key = raw_key.decode("latin-1").strip()
    if not 1 <= len(key) <= 255:
        raise BadRequest("Idempotency-Key must be 1 to 255 characters", code="invalid_header")
    limit = settings.batch_max_bytes if scope["path"] in BATCH_PATHS else settings.max_body_bytes
    body = await _read_body(receive, limit)
    # The API key is part of the request: another key (perhaps with other scopes) reusing the
    # Idempotency-Key is a different request (422), never a replay of this one's response.
    parts = [scope["method"], principal.key_id]
    fingerprint = hashlib.sha256(
        b"\n".join([*(p.encode() for p in parts), scope["raw_path"], scope["query_string"], body])
    ).hexdigest()
    org_id = principal.organisation_id

    stored = await _claim(db, settings, org_id, key, fingerprint)
    if stored is not None:
        await _replay(stored, send)
        return

    captured: dict[str, Any] = {"status": 500, "headers": [], "body": []}

    async def replay_body() -> Message:
        nonlocal body
        chunk, body = body, b""
        return {"type": "http.request", "body": chunk, "more_body": False}

    async def capture(message: Message) -> None:
        if message["type"] == "http.response.start":
            captured["status"] = message["status"]
            captured["headers"] = message.get("headers", [])
        elif message["type"] == "http.response.body":
            captured["body"].append(message.get("body", b""))
        await send(message)

    try:
        await app(scope, replay_body, capture)
    finally:
        await _complete(db, settings, org_id, key, captured)


async def _read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The body is larger than the limit of {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _claim(
    db: Database, settings: Settings, org_id: Any, key: str, fingerprint: str
) -> dict[str, Any] | None:
    """Claim the key for this request; the stored response if it has one to replay."""
    now = dt.datetime.now(dt.UTC)
    c = idempotency_keys.c
    async with db.write() as conn:
        claimed = await conn.execute(
            dbm.insert_ignoring_conflicts(conn, idempotency_keys, ["organisation_id", "key"])
            .values(
                organisation_id=org_id,
                key=key,
                fingerprint=fingerprint,
                state="in_flight",
                created_at=now,
                expires_at=now + dt.timedelta(seconds=settings.idempotency_retention_seconds),
            )
            .returning(c.key)
        )
        if claimed.first() is not None:
            return None
        row = (
            await conn.execute(
                sa.select(idempotency_keys)
                .where(c.organisation_id == org_id, c.key == key)
                .with_for_update()
            )
        ).first()
        assert row is not None
        abandoned = row.state == "in_flight" and row.created_at < now - dt.timedelta(
            seconds=settings.idempotency_lock_seconds
        )
        if row.expires_at <= now or abandoned:
            await _reclaim(conn, org_id, key, fingerprint, now, settings)
            return None
        if row.fingerprint != fingerprint:
            raise ValidationFailed(
                [
                    FieldError(
                        "/headers/idempotency-key",
                        "idempotency_key_reused",
                        "This key was used for a different request",
                    )
                ]
            )
        if row.state == "in_flight":
            raise KeyInFlight("Retry after the first request with this key has finished")
        return {"status": row.status_code, "headers": row.headers, "body": row.body}


async def _reclaim(
    conn: AsyncConnection,
    org_id: Any,
    key: str,
    fingerprint: str,
    now: dt.datetime,
    settings: Settings,
) -> None:
    c = idempotency_keys.c
    await conn.execute(
        idempotency_keys.update()
        .where(c.organisation_id == org_id, c.key == key)
        .values(
            fingerprint=fingerprint,
            state="in_flight",
            status_code=None,
            headers=None,
            body=None,
            created_at=now,
            expires_at=now + dt.timedelta(seconds=settings.idempotency_retention_seconds),
        )
    )


async def _complete(
    db: Database, settings: Settings, org_id: Any, key: str, captured: dict[str, Any]
) -> None:
    c = idempotency_keys.c
    where = (c.organisation_id == org_id, c.key == key)
    try:
        async with db.write() as conn:
            if captured["status"] >= 500 or captured["status"] == 429:
                # not an outcome of the request, but of the moment: the retry runs again
                await conn.execute(idempotency_keys.delete().where(*where))
                return
            headers = [
                [k.decode("latin-1"), v.decode("latin-1")]
                for k, v in captured["headers"]
                if k.decode("latin-1").lower() in _KEPT
            ]
            await conn.execute(
                idempotency_keys.update()
                .where(*where)
                .values(
                    state="completed",
                    status_code=captured["status"],
                    headers=headers,
                    body=b"".join(captured["body"]),
                )
            )
    except Exception:  # the response has been sent; a retry will find the claim abandoned
        log.exception("could not store the response for an idempotency key")


async def _replay(stored: dict[str, Any], send: Send) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in stored["headers"]]
    headers.append((REPLAYED.lower().encode(), b"true"))
    body: bytes = stored["body"] or b""
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": stored["status"], "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def purge_expired(db: Database) -> int:
    """Delete expired keys; the number deleted."""
    async with db.write() as conn:
        result = await conn.execute(
            idempotency_keys.delete().where(
                idempotency_keys.c.expires_at <= dt.datetime.now(dt.UTC)
            )
        )
    return int(result.rowcount or 0)


async def purge_periodically(db: Database, every_seconds: float) -> None:
    while True:
        await asyncio.sleep(every_seconds)
        with contextlib.suppress(Exception):
            purged = await purge_expired(db)
            if purged:
                log.info("purged %d expired idempotency keys", purged)
