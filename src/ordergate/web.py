"""HTTP plumbing shared by every front door: reading bodies within limits, JSON in and out,
and rendering errors as RFC 9457 problem documents."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from typing import Any

import jiter
import orjson
from fastapi import Request
from fastapi.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ordergate.errors import (
    BodyTimeout,
    FieldError,
    InvalidParameter,
    MalformedJson,
    OrdergateError,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)

PROBLEM_TYPE = "urn:ordergate:problem:"


class JSONResponse(Response):
    """A response encoded once with orjson (decimal strings and datetimes are already text)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        if isinstance(content, bytes):
            return content
        return orjson.dumps(content)


def json_response(
    content: Any, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(content, status_code=status_code, headers=headers)


def problem_body(exc: OrdergateError, instance: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE + exc.code,
        "title": exc.title,
        "status": exc.status,
        "detail": exc.detail,
        "code": exc.code,
    }
    if instance:
        body["instance"] = instance
    if isinstance(exc, ValidationFailed | InvalidParameter):
        body["errors"] = [e.as_dict() for e in exc.errors]
    body.update(exc.extra)
    return body


def problem_response(exc: OrdergateError, instance: str | None = None) -> Response:
    return Response(
        orjson.dumps(problem_body(exc, instance)),
        status_code=exc.status,
        media_type="application/problem+json",
        headers=exc.headers,
    )


def _is_json_media_type(content_type: str, extra: tuple[str, ...]) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json") or media in extra


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing (413) as soon as it is known to exceed ``limit`` bytes.

    A declared ``Content-Length`` over the limit is refused before any of the body is read;
    a chunked body is counted as it arrives, so a huge body is never held in memory.
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The body is larger than the limit of {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The body is larger than the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


_REQUIRED = object()


async def read_json(
    request: Request,
    limit: int,
    *,
    also_accept: tuple[str, ...] = (),
    empty: Any = _REQUIRED,
) -> tuple[bytes, Any]:
    """Check the content type, read the body within ``limit`` and parse it: (raw, parsed).

    JSON numbers become ``Decimal`` (or ``int``), never binary floats: money must stay exact.
    With ``empty``, a request without a body stands for that value (and needs no
    Content-Type).
    """
    if empty is not _REQUIRED and not request.headers.get("content-type"):
        body = await read_body(request, limit)  # no type: only an empty body is acceptable
        if not body.strip():
            return body, empty
        raise UnsupportedMediaType("Content-Type must be application/json, not missing")
    body = await read_json_body(request, limit, also_accept=also_accept)
    if empty is not _REQUIRED and not body.strip():
        return body, empty
    return body, parse_json(body)


async def read_json_body(
    request: Request, limit: int, *, also_accept: tuple[str, ...] = ()
) -> bytes:
    """Check the content type and read the body (to parse with :func:`parse_json`)."""
    content_type = request.headers.get("content-type", "")
    if not _is_json_media_type(content_type, also_accept):
        raise UnsupportedMediaType(
            f"Content-Type must be application/json, not {content_type or 'missing'}"
        )
    return await read_body(request, limit)


def parse_json(body: bytes) -> Any:
    if not body.strip():
        raise MalformedJson("The request body is empty")
    try:
        # Member names repeat from body to body and are cached; values are not.
        value = jiter.from_json(body, float_mode="decimal", cache_mode="keys")
    except ValueError as exc:
        raise MalformedJson(f"The body is not valid JSON: {exc}") from None
    # NUL can only arrive escaped; the byte search keeps the walk off the common path.
    if b"\\u0000" in body:
        found = list(_nul_pointers(value, ""))
        if found:
            raise ValidationFailed(
                [FieldError(p, "invalid_character", "Text must not contain NUL") for p in found]
            )
    return value


def nul_pointers(value: Any, at: str = "") -> Iterator[str]:
    """JSON pointers of the strings and member names in ``value`` that contain NUL."""
    return _nul_pointers(value, at)


def _nul_pointers(value: Any, at: str) -> Iterator[str]:
    if isinstance(value, str):
        if "\x00" in value:
            yield at
    elif isinstance(value, dict):
        for k, v in value.items():
            here = at + "/" + k.replace("~", "~0").replace("/", "~1")
            if "\x00" in k:
                yield here
            else:
                yield from _nul_pointers(v, here)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _nul_pointers(v, f"{at}/{i}")


def parameter_error(name: str, code: str, detail: str) -> InvalidParameter:
    return InvalidParameter([FieldError(f"/query/{name}", code, detail)])


class BodyDeadline:
    """Slow bodies time out: every request body must arrive within ``total`` seconds of the
    request (``None`` for the streaming routes in ``streaming``), with never more than
    ``idle`` seconds between two pieces. A late piece raises :class:`BodyTimeout` (408)
    where the route reads the body. Once the body is whole, ``receive`` is left alone (it
    then only waits for a disconnect)."""

    def __init__(
        self, app: ASGIApp, *, total: float, idle: float, streaming: frozenset[str]
    ) -> None:
        self.app = app
        self.total = total
        self.idle = idle
        self.streaming = streaming

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        deadline = None if scope["path"] in self.streaming else loop.time() + self.total
        whole = False

        async def timed_receive() -> Message:
            nonlocal whole
            if whole:
                return await receive()
            wait = self.idle if deadline is None else min(self.idle, deadline - loop.time())
            try:
                async with asyncio.timeout(max(wait, 0.001)):  # no task per call, unlike wait_for
                    message = await receive()
            except TimeoutError:
                raise BodyTimeout(
                    "The request body did not arrive in time; send it without pauses"
                ) from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                whole = True
            return message

        await self.app(scope, timed_receive, send)
