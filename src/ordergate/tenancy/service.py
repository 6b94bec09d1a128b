"""Organisations and API keys: create, list, revoke, and verify a presented secret.

A token is ``<key_id>.<secret>``. Only a salted SHA-256 of the secret is stored: the secret
is 256 random bits, so a slow password hash would add latency to every request without adding
safety. Secrets are compared in constant time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import sqlalchemy as sa
import uuid_utils.compat as uuid_utils
from sqlalchemy.ext.asyncio import AsyncConnection

from ordergate import db
from ordergate.errors import Conflict, FieldError, NotFound, ValidationFailed
from ordergate.tenancy.tables import api_keys, organisations

SCOPES = ("orders:read", "orders:write", "webhooks:manage")
TRKREF = re.compile(r"^[A-Z0-9]+(-[A-Z0-9]+)*$")
KEY_PREFIX = "ogk_"
ORDER_NUMBERS = "order_number"
EVENT_IDS = "event_id"


@dataclass(frozen=True, slots=True)
class Organisation:
    id: UUID
    number: int
    trkref: str
    name: str
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class NewKey:
    key_id: str
    secret: str
    organisation: Organisation
    scopes: tuple[str, ...]

    @property
    def token(self) -> str:
        return f"{self.key_id}.{self.secret}"


@dataclass(frozen=True, slots=True)
class StoredKey:
    """A key as the authenticator needs it (never holds the secret itself)."""

    key_id: str
    salt: bytes
    secret_hash: bytes
    scopes: frozenset[str]
    revoked: bool
    organisation: Organisation


def hash_secret(salt: bytes, secret: str) -> bytes:
    return hashlib.sha256(salt + secret.encode()).digest()


def secret_matches(key: StoredKey, secret: str) -> bool:
    return hmac.compare_digest(hash_secret(key.salt, secret), key.secret_hash)


def _organisation(row: Any) -> Organisation:
    return Organisation(id=row[0], number=row[1], trkref=row[2], name=row[3], created_at=row[4])


_ORG_COLUMNS = (
    organisations.c.id,
    organisations.c.number,
    organisations.c.trkref,
    organisations.c.name,
    organisations.c.created_at,
)


async def create_organisation(
    conn: AsyncConnection, trkref: str, name: str | None = None
) -> Organisation:
    if not TRKREF.match(trkref) or len(trkref) > 64:
        raise ValidationFailed(
            [
                FieldError(
                    "/trkref",
                    "invalid_format",
                    "TRKREF must match ^[A-Z0-9]+(-[A-Z0-9]+)*$ (at most 64 characters)",
                )
            ]
        )
    if await find_organisation(conn, trkref) is not None:
        raise Conflict(f"Organisation {trkref} already exists")
    number = (await conn.scalar(sa.select(sa.func.max(organisations.c.number)))) or 0
    org = Organisation(
        id=uuid_utils.uuid7(),
        number=number + 1,
        trkref=trkref,
        name=name or trkref,
        created_at=dt.datetime.now(dt.UTC),
    )
    await conn.execute(
        organisations.insert().values(
            id=org.id,
            number=org.number,
            trkref=org.trkref,
            name=org.name,
            created_at=org.created_at,
        )
    )
    await db.create_counter(conn, org.id, ORDER_NUMBERS)
    await db.create_counter(conn, org.id, EVENT_IDS)
    return org


async def find_organisation(conn: AsyncConnection, ref: str) -> Organisation | None:
    """By TRKREF, or by organisation number when ``ref`` is all digits."""
    cond = (
        organisations.c.number == int(ref)
        if ref.isdigit() and len(ref) < 10
        else organisations.c.trkref == ref
    )
    row = (await conn.execute(sa.select(*_ORG_COLUMNS).where(cond))).first()
    return None if row is None else _organisation(row)


async def list_organisations(conn: AsyncConnection) -> list[Organisation]:
    rows = await conn.execute(sa.select(*_ORG_COLUMNS).order_by(organisations.c.number))
    return [_organisation(r) for r in rows]


async def create_key(conn: AsyncConnection, trkref: str, scopes: list[str] | None = None) -> NewKey:
    org = await find_organisation(conn, trkref)
    if org is None:
        raise NotFound(f"No organisation {trkref}")
    chosen = tuple(dict.fromkeys(scopes)) if scopes else SCOPES
    unknown = [s for s in chosen if s not in SCOPES]
    if unknown:
        raise ValidationFailed(
            [
                FieldError("/scope", "invalid", f"Unknown scope {s!r}; one of {', '.join(SCOPES)}")
                for s in unknown
            ]
        )
    key_id = KEY_PREFIX + secrets.token_hex(10)
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_bytes(16)
    await conn.execute(
        api_keys.insert().values(
            organisation_id=org.id,
            id=key_id,
            salt=salt,
            secret_hash=hash_secret(salt, secret),
            scopes=" ".join(chosen),
            created_at=dt.datetime.now(dt.UTC),
        )
    )
    return NewKey(key_id=key_id, secret=secret, organisation=org, scopes=chosen)


async def revoke_key(conn: AsyncConnection, key_id: str) -> None:
    result = await conn.execute(
        api_keys.update()
        .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=dt.datetime.now(dt.UTC))
    )
    if result.rowcount == 0:
        exists = await conn.scalar(sa.select(api_keys.c.id).where(api_keys.c.id == key_id))
        if exists is None:
            raise NotFound(f"No API key {key_id}")


# Built once: it runs whenever a process's short-lived key cache misses.
_LOAD_KEY = (
    sa.select(
        api_keys.c.id,
        api_keys.c.salt,
        api_keys.c.secret_hash,
        api_keys.c.scopes,
        api_keys.c.revoked_at,
        *_ORG_COLUMNS,
    )
    .join(organisations, organisations.c.id == api_keys.c.organisation_id)
    .where(api_keys.c.id == sa.bindparam("key_id"))
)


async def load_key(conn: AsyncConnection, key_id: str) -> StoredKey | None:
    row = (await conn.execute(_LOAD_KEY, {"key_id": key_id})).first()
    if row is None:
        return None
    return StoredKey(
        key_id=row[0],
        salt=row[1],
        secret_hash=row[2],
        scopes=frozenset(row[3].split()),
        revoked=row[4] is not None,
        organisation=Organisation(
            id=row[5], number=row[6], trkref=row[7], name=row[8], created_at=row[9]
        ),
    )
