"""Console sign-in: the session cookie, CSRF tokens, and who the operator is on each request.

The cookie never holds the API key. It holds ``v1.<organisation id>.<key id>.<issued at>``
and an HMAC-SHA256 of that text under the organisation's console secret (a random 256-bit
value in ``console_secrets``, made on the organisation's first sign-in). On every request
the MAC and age are checked, and the key is read from the database again: a revoked key, or
one that lost ``orders:read``, stops working at once, and scopes are always the key's own.

CSRF: every form that changes something carries a token, HMAC(secret, "csrf." + session), so
it is bound to the session and unknowable to another site; the sign-in form, which has no
session yet, uses a double-submit cookie instead. SameSite=Lax on both cookies is the second
line of defence.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

import sqlalchemy as sa
from fastapi import Depends, Request, Response
from sqlalchemy.ext.asyncio import AsyncConnection

from ordergate import db as dbm
from ordergate.console.tables import console_secrets
from ordergate.db import Database
from ordergate.errors import Forbidden
from ordergate.settings import Settings
from ordergate.tenancy import service as tenancy
from ordergate.tenancy.auth import Principal
from ordergate.tenancy.ratelimit import RateLimiter

COOKIE = "ordergate_console"
SIGN_IN_COOKIE = "ordergate_console_sign_in"
READ_SCOPE = "orders:read"


class SignInRequired(Exception):
    """No valid session: the console answers with its sign-in page."""


@dataclass(frozen=True, slots=True)
class Operator:
    """The signed-in operator: the API key's principal and this session's CSRF token."""

    principal: Principal
    csrf_token: str

    def can(self, scope: str) -> bool:
        return scope in self.principal.scopes

    def require(self, scope: str) -> None:
        if not self.can(scope):
            raise Forbidden(f"This API key lacks the scope {scope}")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _mac(secret: bytes, text: str) -> str:
    return _b64(hmac.new(secret, text.encode(), hashlib.sha256).digest())


# An organisation's secret never changes once made, so each process keeps the ones it has read.
_secrets: dict[UUID, bytes] = {}


async def _read_secret(conn: AsyncConnection, org_id: UUID) -> bytes | None:
    c = console_secrets.c
    value: bytes | None = await conn.scalar(sa.select(c.secret).where(c.organisation_id == org_id))
    return value


async def _secret(db: Database, org_id: UUID, *, create: bool) -> bytes | None:
    if org_id in _secrets:
        return _secrets[org_id]
    async with db.read() as conn:
        value = await _read_secret(conn, org_id)
    if value is None and create:
        async with db.write() as conn:
            # Two first sign-ins at once: the first insert wins and both read it back.
            await conn.execute(
                dbm.insert_ignoring_conflicts(conn, console_secrets, ["organisation_id"]).values(
                    organisation_id=org_id,
                    secret=secrets.token_bytes(32),
                    created_at=dt.datetime.now(dt.UTC),
                )
            )
            value = await _read_secret(conn, org_id)
    if value is not None:
        _secrets[org_id] = value
    return value


def _cookie_flags(request: Request) -> dict[str, object]:
    settings: Settings = request.app.state.settings
    secure = settings.console_secure_cookie
    if secure is None:
        secure = request.url.scheme == "https"
    return {"httponly": True, "samesite": "lax", "secure": secure, "path": "/console"}


async def verify_token(db: Database, token: str) -> tenancy.StoredKey | None:
    """The stored key for an API token, if the token is valid and the key is not revoked."""
    key_id, sep, secret = token.strip().partition(".")
    if not sep or not key_id or not secret or len(key_id) > 64:
        return None
    async with db.read() as conn:
        stored = await tenancy.load_key(conn, key_id)
    if stored is None or stored.revoked or not tenancy.secret_matches(stored, secret):
        return None
    return stored


async def start(request: Request, response: Response, key: tenancy.StoredKey) -> None:
    """Sign in: set the session cookie for ``key``."""
    db: Database = request.app.state.db
    org_id = key.organisation.id
    secret = await _secret(db, org_id, create=True)
    assert secret is not None
    payload = f"v1.{org_id.hex}.{key.key_id}.{int(time.time())}"
    settings: Settings = request.app.state.settings
    response.set_cookie(
        COOKIE,
        f"{payload}.{_mac(secret, payload)}",
        max_age=int(settings.console_session_hours * 3600),
        **_cookie_flags(request),  # type: ignore[arg-type]
    )
    response.delete_cookie(SIGN_IN_COOKIE, **_cookie_flags(request))  # type: ignore[arg-type]


def end(request: Request, response: Response) -> None:
    response.delete_cookie(COOKIE, **_cookie_flags(request))  # type: ignore[arg-type]


def sign_in_nonce(request: Request) -> str:
    """The sign-in form's CSRF token (double-submit: the same value goes in a cookie)."""
    return request.cookies.get(SIGN_IN_COOKIE) or secrets.token_urlsafe(24)


def keep_sign_in_nonce(request: Request, response: Response, nonce: str) -> None:
    response.set_cookie(SIGN_IN_COOKIE, nonce, max_age=3600, **_cookie_flags(request))  # type: ignore[arg-type]


def check_sign_in_nonce(request: Request, submitted: str) -> None:
    expected = request.cookies.get(SIGN_IN_COOKIE, "")
    if not expected or not hmac.compare_digest(expected.encode(), submitted.encode()):
        raise Forbidden("The sign-in form has expired; reload the page and sign in again")


async def current(request: Request) -> Operator:
    cookie = request.cookies.get(COOKIE)
    if not cookie:
        raise SignInRequired
    parts = cookie.split(".")
    if len(parts) != 5 or parts[0] != "v1" or not parts[3].isdigit():
        raise SignInRequired
    payload, mac = ".".join(parts[:4]), parts[4]
    try:
        org_id = UUID(hex=parts[1])
    except ValueError:
        raise SignInRequired from None
    settings: Settings = request.app.state.settings
    if time.time() - int(parts[3]) > settings.console_session_hours * 3600:
        raise SignInRequired
    db: Database = request.app.state.db
    secret = await _secret(db, org_id, create=False)
    if secret is None or not hmac.compare_digest(_mac(secret, payload), mac):
        raise SignInRequired
    async with db.read() as conn:
        stored = await tenancy.load_key(conn, parts[2])
    if (
        stored is None
        or stored.revoked
        or stored.organisation.id != org_id
        or READ_SCOPE not in stored.scopes
    ):
        raise SignInRequired
    limiter: RateLimiter = request.app.state.rate_limiter
    await limiter.hit(stored.key_id)
    org = stored.organisation
    principal = Principal(
        organisation_id=org.id,
        trkref=org.trkref,
        organisation_number=org.number,
        key_id=stored.key_id,
        scopes=stored.scopes,
    )
    return Operator(principal=principal, csrf_token=_mac(secret, "csrf." + payload))


def check_csrf(operator: Operator, submitted: str) -> None:
    if not hmac.compare_digest(operator.csrf_token.encode(), submitted.encode()):
        raise Forbidden("The form's CSRF token is missing or wrong; reload the page")


SignedIn = Annotated[Operator, Depends(current)]
