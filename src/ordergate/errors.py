"""The one error base class and the errors every front door shares.

Each error carries its HTTP status and a stable ``code`` (documented in ``docs/errors.md``);
one handler in ``app.py`` renders them (RFC 9457 on /v1; a dialect renders its own shape).
Anything that is not an ``OrdergateError`` is a bug and becomes a 500 without details.

    OrdergateError
    ├── BadRequest (400)            malformed_json, invalid_parameter, invalid_character
    ├── Unauthorized (401)          unauthorized
    ├── Forbidden (403)             forbidden
    ├── NotFound (404)              not_found
    ├── Conflict (409)              conflict  (orders.errors.OrderRefConflict …)
    ├── BodyTimeout (408)           request_timeout
    ├── PreconditionFailed (412)    precondition_failed
    ├── PayloadTooLarge (413)       payload_too_large
    ├── UnsupportedMediaType (415)  unsupported_media_type
    └── ValidationFailed (422)      validation_failed, with one FieldError per invalid field
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True, slots=True)
class FieldError:
    """One invalid field: where (RFC 6901 JSON pointer), what (stable code) and a sentence."""

    pointer: str
    code: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"pointer": self.pointer, "code": self.code, "detail": self.detail}


class OrdergateError(Exception):
    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    title: ClassVar[str] = "Internal error"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra
        self.headers: dict[str, str] = {}


class BadRequest(OrdergateError):
    status = 400
    code = "bad_request"
    title = "Bad request"

    def __init__(self, detail: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(detail, **extra)
        if code:
            self.code = code  # type: ignore[misc]


class MalformedJson(BadRequest):
    code = "malformed_json"
    title = "Malformed JSON"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)


class InvalidParameter(BadRequest):
    """A query or path parameter that cannot be used; ``errors`` point at ``/query/<name>``."""

    code = "invalid_parameter"
    title = "Invalid parameter"

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.pointer}: {e.detail}" for e in errors))
        self.errors = errors


class Unauthorized(OrdergateError):
    status = 401
    code = "unauthorized"
    title = "Unauthorized"


class Forbidden(OrdergateError):
    status = 403
    code = "forbidden"
    title = "Forbidden"


class NotFound(OrdergateError):
    status = 404
    code = "not_found"
    title = "Not found"


class Conflict(OrdergateError):
    status = 409
    code = "conflict"
    title = "Conflict"


class PreconditionFailed(OrdergateError):
    status = 412
    code = "precondition_failed"
    title = "Precondition failed"


class BodyTimeout(OrdergateError):
    status = 408
    code = "request_timeout"
    title = "The request body was not received in time"


class PayloadTooLarge(OrdergateError):
    status = 413
    code = "payload_too_large"
    title = "Payload too large"


class UnsupportedMediaType(OrdergateError):
    status = 415
    code = "unsupported_media_type"
    title = "Unsupported media type"


class ValidationFailed(OrdergateError):
    status = 422
    code = "validation_failed"
    title = "Validation failed"

    def __init__(self, errors: list[FieldError]) -> None:
        n = len(errors)
        super().__init__(f"{n} invalid field{'s' if n != 1 else ''}")
        self.errors = errors
