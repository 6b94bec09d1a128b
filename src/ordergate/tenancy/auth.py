"""Who is calling: credentials in any of the four accepted forms → a :class:`Principal`.

    Authorization: Bearer <token>
    Authorization: Basic base64(<key_id>:<secret>)
    Authorization: Parcellab-API-Token <token>
    Authorization: Parcellab-API-Token base64(<account>:<token>)   (account: TRKREF or number)
    api-key: <token>  +  account-id: <TRKREF or organisation number>   (Dropday style)

Routes declare what they need with the ``Annotated`` aliases at the bottom, so a route's
signature shows its auth and scope.
"""

from __future__ import annotations

import base64
import binascii
import logging
import time
from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request

from ordergate.db import Database
from ordergate.errors import Forbidden, Unauthorized
from ordergate.tenancy import service as tenancy
from ordergate.tenancy.ratelimit import RateLimiter
from ordergate.tenancy.service import StoredKey

log = logging.getLogger("ordergate.auth")


@dataclass(frozen=True, slots=True)
class Principal:
    organisation_id: UUID
    trkref: str
    organisation_number: int
    key_id: str
    scopes: frozenset[str]


def _split_token(token: str) -> tuple[str, str] | None:
    key_id, sep, secret = token.strip().partition(".")
    return (key_id, secret) if sep and key_id and secret else None


def _account_and_token(value: str) -> tuple[str, str, str | None] | None:
    """parcelLab's other form: ``base64(<account>:<token>)``."""
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    account, sep, token = decoded.partition(":")
    parts = _split_token(token) if sep and account else None
    return None if parts is None else (*parts, account.strip())


def credentials(request: Request) -> tuple[str, str, str | None] | None:
    """``(key_id, secret, account)`` from the request's headers, or None when absent/garbled."""
    authorization = request.headers.get("authorization")
    if authorization:
        scheme, _, value = authorization.strip().partition(" ")
        scheme = scheme.lower()
        if scheme in ("bearer", "parcellab-api-token"):
            parts = _split_token(value)
            if parts is None and scheme == "parcellab-api-token":
                return _account_and_token(value)
            return None if parts is None else (*parts, None)
        if scheme == "basic":
            try:
                decoded = base64.b64decode(value.strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                return None
            key_id, sep, secret = decoded.partition(":")
            return (key_id, secret, None) if sep and key_id and secret else None
        return None
    api_key = request.headers.get("api-key")
    if api_key:
        parts = _split_token(api_key)
        account = request.headers.get("account-id")
        if parts is None or not account:
            return None
        return (*parts, account.strip())
    return None


class Authenticator:
    """Verifies keys, with a short per-process cache of the stored key.

    The cache holds what the database says about a key (hash, scopes, revoked) for
    ``ttl`` seconds, so a revocation reaches every process within ``ttl``; the secret is
    checked against the stored hash on every request.
    """

    def __init__(self, db: Database, ttl: float) -> None:
        self._db = db
        self._ttl = ttl
        self._cache: dict[str, tuple[float, StoredKey | None]] = {}

    async def _stored(self, key_id: str) -> StoredKey | None:
        now = time.monotonic()
        hit = self._cache.get(key_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        async with self._db.read() as conn:
            stored = await tenancy.load_key(conn, key_id)
        if self._ttl > 0:
            if len(self._cache) > 10_000:  # a flood of made-up key ids must not grow memory
                self._cache.clear()
            self._cache[key_id] = (now + self._ttl, stored)
        return stored

    async def authenticate(self, request: Request) -> Principal:
        creds = credentials(request)
        if creds is None:
            raise Unauthorized("Missing or malformed credentials")
        key_id, secret, account = creds
        if len(key_id) > 64:
            raise Unauthorized("Invalid credentials")
        stored = await self._stored(key_id)
        # Failed sign-ins are logged with the key id (public), never the secret.
        if stored is None or stored.revoked or not tenancy.secret_matches(stored, secret):
            reason = (
                "unknown" if stored is None else "revoked" if stored.revoked else "wrong secret"
            )
            log.info("authentication failed for key %r: %s", key_id[:64], reason)
            raise Unauthorized("Invalid credentials")
        org = stored.organisation
        if account is not None and account not in (org.trkref, str(org.number)):
            log.info("authentication failed for key %r: another account", key_id)
            raise Unauthorized("The account-id does not match the API key")
        return Principal(
            organisation_id=org.id,
            trkref=org.trkref,
            organisation_number=org.number,
            key_id=stored.key_id,
            scopes=stored.scopes,
        )


async def authenticate(request: Request) -> Principal:
    authenticator: Authenticator = request.app.state.authenticator
    return await authenticator.authenticate(request)


async def authorize(request: Request, scope: str) -> Principal:
    """Authenticate, check the scope and count the request against the key's rate limit
    (401, 403, 429). Routes use :func:`require`; dialects call this to answer in their own
    words."""
    principal = await authenticate(request)
    if scope not in principal.scopes:
        raise Forbidden(f"This API key lacks the scope {scope}")
    # Counted here, once per request (not in authenticate, which middleware may call too).
    limiter: RateLimiter = request.app.state.rate_limiter
    await limiter.hit(principal.key_id)
    return principal


def require(scope: str) -> object:
    async def _require(request: Request) -> Principal:
        return await authorize(request, scope)

    _require.__name__ = f"require_{scope.replace(':', '_')}"
    return _require


OrdersRead = Annotated[Principal, Depends(require("orders:read"))]
OrdersWrite = Annotated[Principal, Depends(require("orders:write"))]
WebhooksManage = Annotated[Principal, Depends(require("webhooks:manage"))]
