"""``/v1/imports``: NDJSON bulk imports, streamed into the spool and run in the background.

The body is never held whole in memory: it is cut into chunks of whole lines as it arrives
and each chunk is written to ``import_chunks`` in its own transaction. Once the last byte is
in, the import is queued and the answer is 202; a runner (see ``intake.runner``) does the rest.

``Idempotency-Key`` is honoured here rather than by the middleware (which buffers bodies): the
key is stored on the import with the SHA-256 of its body. The same key and body again replays
the 202 (``Idempotent-Replayed: true``); another body is 422; the same key while the first
body is still arriving is 409.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any, Literal
from uuid import UUID

import sqlalchemy.exc
from fastapi import APIRouter, Header, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.requests import ClientDisconnect

from ordergate.api.deps import AppSettings, Db
from ordergate.api.openapi import problems
from ordergate.db import Database
from ordergate.errors import (
    BadRequest,
    FieldError,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)
from ordergate.intake import imports, submissions
from ordergate.intake.idempotency import REPLAYED, KeyInFlight
from ordergate.settings import Settings
from ordergate.tenancy.auth import OrdersRead, OrdersWrite
from ordergate.web import json_response

router = APIRouter(prefix="/v1/imports", tags=["imports"])

NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl")


class ImportStarted(BaseModel):
    id: str
    status_url: str
    status: str
    total: int = Field(description="Non-blank lines received")
    bytes: int


class LineError(BaseModel):
    line: int = Field(description="1-based line number in the body")
    outcome: Literal["invalid", "conflict"]
    errors: list[dict[str, str]]


class ImportOut(BaseModel):
    id: str
    status: Literal["receiving", "queued", "running", "completed", "failed"]
    mode: Literal["create", "upsert"]
    source: Literal["api", "cli"]
    bytes: int
    total: int | None
    processed: int
    created: int
    updated: int
    unchanged: int
    duplicates: int
    conflicts: int
    invalid: int = Field(description="Lines that failed to parse or to validate")
    errors: list[LineError] = Field(description="The first 1,000 lines with errors")
    failure: str | None
    created_at: str
    updated_at: str
    completed_at: str | None


def _started(row_id: UUID, status: str, total: int, size: int) -> dict[str, Any]:
    return {
        "id": str(row_id),
        "status_url": f"/v1/imports/{row_id}",
        "status": status,
        "total": total,
        "bytes": size,
    }


@router.post(
    "",
    status_code=202,
    summary="Import orders from NDJSON (one canonical order per line), in the background",
    description=(
        "The body (`application/x-ndjson`, up to 200 MiB) is streamed into the server's spool; "
        "the answer comes once it is all in. Poll `status_url` for progress and line errors."
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                t: {"schema": {"type": "string", "description": "One order per line"}}
                for t in NDJSON_TYPES
            },
        }
    },
    responses={202: {"model": ImportStarted}, **problems(400, 409, 413, 415, 422)},
)
async def start_import(
    request: Request,
    principal: OrdersWrite,
    db: Db,
    settings: AppSettings,
    mode: Annotated[Literal["create", "upsert"], Query()] = "create",
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Response:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in NDJSON_TYPES:
        raise UnsupportedMediaType(f"Expected Content-Type {NDJSON_TYPES[0]}")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > settings.import_max_bytes:
        raise _too_large(settings)
    if idempotency_key is not None:
        idempotency_key = idempotency_key.strip()
        if not 1 <= len(idempotency_key) <= 255:
            raise BadRequest("Idempotency-Key must be 1 to 255 characters", code="invalid_header")
        async with db.read() as conn:
            earlier = await imports.by_idempotency_key(
                conn, principal.organisation_id, idempotency_key
            )
        if earlier is not None:
            return await _replay(request, earlier, settings, principal.key_id, mode)
    sub = submissions.start(principal, request)
    async with submissions.recording(db, sub):
        try:
            async with db.write() as conn:
                import_id = await imports.create(
                    conn,
                    principal,
                    mode=mode,
                    source="api",
                    idempotency_key=idempotency_key,
                    import_id=sub.id,  # the import is its own submission
                )
        except sqlalchemy.exc.IntegrityError:  # the same key, started a moment ago
            raise KeyInFlight("An import with this Idempotency-Key is being received") from None
        try:
            total, size = await _spool(
                request, db, settings, principal.organisation_id, import_id, sub, mode
            )
        except BaseException:
            async with db.write() as conn:
                await imports.discard(conn, principal.organisation_id, import_id)
            raise
    runner = getattr(request.app.state, "import_runner", None)
    if runner is not None:
        runner.wake()
    body = _started(import_id, "queued", total, size)
    return json_response(
        body, 202, {"Location": body["status_url"], submissions.HEADER: str(sub.id)}
    )


async def _spool(
    request: Request,
    db: Database,
    settings: Settings,
    org_id: UUID,
    import_id: UUID,
    sub: submissions.Submission,
    mode: str,
) -> tuple[int, int]:
    """Write the body into chunks of whole lines; queue the import. (total lines, bytes)."""
    sha = _fingerprint(sub.principal.key_id, mode)
    buffer = bytearray()
    size = total = seq = 0
    next_line = 1

    def check_line_length(data: bytes | bytearray, final: bool) -> None:
        """No line may be longer than one order may be (ORDERGATE_MAX_BODY_BYTES)."""
        lines = data.split(b"\n")
        if not final:  # the last piece may still be growing: judge it by its length so far
            lines = lines[:-1] if len(lines[-1]) <= settings.max_body_bytes else lines
        for offset, line in enumerate(lines):
            if len(line) > settings.max_body_bytes:
                raise PayloadTooLarge(
                    f"Line {next_line + offset} is longer than {settings.max_body_bytes} bytes "
                    "(ORDERGATE_MAX_BODY_BYTES, the limit of one order)"
                )

    async def flush(data: bytes) -> None:
        nonlocal seq, next_line, total
        check_line_length(data, final=True)
        async with db.write() as conn:
            await imports.add_chunk(conn, org_id, import_id, seq, next_line, data)
        seq += 1
        next_line += data.count(b"\n")
        total += imports.count_lines(data)

    try:
        async for piece in request.stream():
            size += len(piece)
            if size > settings.import_max_bytes:
                raise _too_large(settings)
            sha.update(piece)
            buffer += piece
            while len(buffer) >= settings.import_chunk_bytes:
                # whole lines, up to the chunk size (or one longer line)
                cut = buffer.rfind(b"\n", 0, settings.import_chunk_bytes)
                if cut < 0:
                    cut = buffer.find(b"\n", settings.import_chunk_bytes)
                if cut < 0:
                    check_line_length(buffer, final=False)
                    break
                await flush(bytes(buffer[: cut + 1]))
                del buffer[: cut + 1]
    except ClientDisconnect:
        raise BadRequest("The body was not received whole", code="incomplete_body") from None
    if buffer:
        await flush(bytes(buffer))
    async with db.write() as conn:
        await imports.received(
            conn, org_id, import_id, total=total, chunks=seq, size=size, sha256=sha.hexdigest()
        )
        row = sub.row(status_code=202, outcome="import")
        await submissions.record(conn, [row])
    sub.recorded = True
    return total, size


def _too_large(settings: Settings) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The body is larger than the limit of {settings.import_max_bytes} bytes"
    )


def _fingerprint(key_id: str, mode: str) -> Any:
    """What an Idempotency-Key is compared on: the API key, the mode and the body."""
    sha = hashlib.sha256()
    sha.update(f"{key_id}\n{mode}\n".encode())
    return sha


async def _replay(
    request: Request, earlier: Any, settings: Settings, key_id: str, mode: str
) -> Response:
    """The same Idempotency-Key again: hash this request (without keeping it) and compare."""
    sha = _fingerprint(key_id, mode)
    size = 0
    async for piece in request.stream():
        size += len(piece)
        if size > settings.import_max_bytes:
            raise _too_large(settings)
        sha.update(piece)
    status = earlier.status
    if status == "receiving":
        raise KeyInFlight("The import with this Idempotency-Key is still being received")
    if earlier.body_sha256 != sha.hexdigest():
        raise ValidationFailed(
            [
                FieldError(
                    "/headers/idempotency-key",
                    "idempotency_key_reused",
                    "This key was used for another import (another body, mode or API key)",
                )
            ]
        )
    row_id = earlier.id
    body = _started(row_id, status, earlier.total or 0, earlier.bytes)
    return json_response(body, 202, {"Location": body["status_url"], REPLAYED: "true"})


@router.get(
    "/{import_id}",
    summary="An import's status, counts and first 1,000 line errors",
    responses={200: {"model": ImportOut}, **problems(404)},
)
async def get_import(import_id: UUID, principal: OrdersRead, db: Db) -> Response:
    async with db.read() as conn:
        row = await imports.get_row(conn, principal.organisation_id, import_id)
    return json_response(imports.render(row))
