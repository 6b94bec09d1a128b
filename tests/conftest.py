"""Test fixtures: each test runs against SQLite and a real PostgreSQL database.

Migrations build the schema once per engine per session. Tests are isolated by tenancy: each
test gets its own organisation and keys, and every query is scoped to an organisation, so no
test sees another's data. Without PostgreSQL the PostgreSQL half is skipped with a message;
under CI (CI=true) a missing PostgreSQL is a failure.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from ordergate import db as dbm
from ordergate.app import create_app
from ordergate.settings import Settings
from ordergate.tenancy import service as tenancy
from ordergate.tenancy.auth import Principal

PG_ADMIN_DSN = os.environ.get(
    "ORDERGATE_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
)
ENGINES = ["sqlite", "postgresql"]


async def _pg_available() -> str | None:
    """None if PostgreSQL answers, else why not."""
    if os.environ.get("ORDERGATE_TEST_POSTGRES", "").lower() in ("off", "0", "false"):
        return "ORDERGATE_TEST_POSTGRES=off"
    try:
        conn = await asyncio.wait_for(asyncpg.connect(PG_ADMIN_DSN), 5)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    await conn.close()
    return None


@pytest.fixture(scope="session")
def pg_reason() -> str | None:
    return asyncio.run(_pg_available())


def pytest_report_header(config: pytest.Config) -> str:
    reason = asyncio.run(_pg_available())
    if reason is None:
        return f"PostgreSQL: {PG_ADMIN_DSN}"
    return f"PostgreSQL: NOT AVAILABLE ({reason}) - the PostgreSQL half of the suite is skipped"


async def create_pg_database(name: str, template: str | None = None) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        copy = f' TEMPLATE "{template}"' if template else ""
        await conn.execute(f'CREATE DATABASE "{name}"{copy}')
    finally:
        await conn.close()


async def drop_pg_database(name: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def _pg_url(dbname: str) -> str:
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{dbname}"


@pytest.fixture(scope="session")
def database_urls(
    tmp_path_factory: pytest.TempPathFactory, pg_reason: str | None
) -> Iterator[dict[str, str]]:
    """One migrated database per engine for the whole session."""
    urls: dict[str, str] = {}
    sqlite_file = tmp_path_factory.mktemp("db") / "ordergate.db"
    urls["sqlite"] = f"sqlite+aiosqlite:///{sqlite_file}"
    dbm.migrate_sync(urls["sqlite"])
    pg_name = None
    if pg_reason is None:
        pg_name = f"ordergate_test_{os.getpid()}_{secrets.token_hex(3)}"
        asyncio.run(create_pg_database(pg_name))
        urls["postgresql"] = _pg_url(pg_name)
        dbm.migrate_sync(urls["postgresql"])
    yield urls
    if pg_name is not None:
        asyncio.run(drop_pg_database(pg_name))


@pytest.fixture(scope="session", params=ENGINES)
def engine(request: pytest.FixtureRequest, pg_reason: str | None) -> str:
    name: str = request.param
    if name == "postgresql" and pg_reason is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL is required under CI but unavailable: {pg_reason}")
        pytest.skip(f"PostgreSQL unavailable ({pg_reason}); PostgreSQL half skipped")
    return name


@pytest.fixture(scope="session")
def database_url(engine: str, database_urls: dict[str, str]) -> str:
    return database_urls[engine]


@pytest.fixture(scope="session")
def postgres_url(pg_reason: str | None, database_urls: dict[str, str]) -> str:
    """For the few tests about PostgreSQL-only behaviour (not parametrised over engines)."""
    if pg_reason is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL is required under CI but unavailable: {pg_reason}")
        pytest.skip(f"PostgreSQL unavailable ({pg_reason}); PostgreSQL half skipped")
    return database_urls["postgresql"]


# A database of its own, for a test that runs something serving every organisation in its
# database (a webhook dispatcher, an import runner, a real `ordergate serve`): on the shared
# databases it would also work through other tests' rows, and they through its. Each is a copy
# of a migrated template: a file copy on SQLite, CREATE DATABASE ... TEMPLATE on PostgreSQL.


@pytest.fixture(scope="session")
def template_databases(
    tmp_path_factory: pytest.TempPathFactory, pg_reason: str | None
) -> Iterator[dict[str, str]]:
    templates: dict[str, str] = {}
    sqlite_file = tmp_path_factory.mktemp("template") / "template.db"
    dbm.migrate_sync(f"sqlite+aiosqlite:///{sqlite_file}")
    templates["sqlite"] = str(sqlite_file)
    if pg_reason is None:
        name = f"ordergate_tmpl_{os.getpid()}_{secrets.token_hex(3)}"
        asyncio.run(create_pg_database(name))
        dbm.migrate_sync(_pg_url(name))
        templates["postgresql"] = name
    yield templates
    if "postgresql" in templates:
        asyncio.run(drop_pg_database(templates["postgresql"]))


async def _copy_database(engine: str, templates: dict[str, str], tmp_path: Path) -> str:
    if engine == "sqlite":
        target = tmp_path / "ordergate.db"
        shutil.copyfile(templates["sqlite"], target)
        return f"sqlite+aiosqlite:///{target}"
    name = f"ordergate_disp_{secrets.token_hex(4)}"
    await create_pg_database(name, template=templates["postgresql"])
    return _pg_url(name)


async def _drop_database(url: str) -> None:
    if url.startswith("sqlite"):
        return
    await drop_pg_database(url.rsplit("/", 1)[1])


@pytest.fixture
async def own_database(
    engine: str, template_databases: dict[str, str], tmp_path: Path
) -> AsyncIterator[str]:
    """The URL of a fresh, migrated database for this test only (both engines)."""
    url = await _copy_database(engine, template_databases, tmp_path)
    yield url
    await _drop_database(url)


@pytest.fixture
async def own_postgres(
    postgres_url: str, template_databases: dict[str, str], tmp_path: Path
) -> AsyncIterator[str]:
    """The same, PostgreSQL only."""
    url = await _copy_database("postgresql", template_databases, tmp_path)
    yield url
    await _drop_database(url)


def make_settings(database_url: str, **overrides: Any) -> Settings:
    # Tests page oldest-first right after writing; the settle window has its own test.
    # Apps on the shared test databases run no dispatcher: the webhook tests start their own
    # on databases of their own (a dispatcher serves every organisation in its database).
    defaults = {"list_settle_seconds": 0, "run_dispatcher": False}
    return Settings(database_url=database_url, **{**defaults, **overrides})


@pytest.fixture(scope="session")
async def app(database_url: str) -> AsyncIterator[FastAPI]:
    application = create_app(make_settings(database_url))
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


@dataclass
class Tenant:
    org: tenancy.Organisation
    key: tenancy.NewKey

    @property
    def token(self) -> str:
        return self.key.token

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key.token}"}

    @property
    def principal(self) -> Principal:
        """What the API key authenticates as, for calling services directly."""
        return Principal(
            organisation_id=self.org.id,
            trkref=self.org.trkref,
            organisation_number=self.org.number,
            key_id=self.key.key_id,
            scopes=frozenset(self.key.scopes),
        )


async def make_tenant(app: FastAPI, *, scopes: list[str] | None = None) -> Tenant:
    """A fresh organisation with one key (keyword-only factory)."""
    trkref = "T" + secrets.token_hex(6).upper()
    async with app.state.db.write() as conn:
        org = await tenancy.create_organisation(conn, trkref)
        key = await tenancy.create_key(conn, trkref, scopes)
    return Tenant(org=org, key=key)


async def add_key(app: FastAPI, tenant: Tenant, *, scopes: list[str] | None = None) -> str:
    async with app.state.db.write() as conn:
        key = await tenancy.create_key(conn, tenant.org.trkref, scopes)
    return key.token


@pytest.fixture
async def tenant(app: FastAPI) -> Tenant:
    return await make_tenant(app)


@pytest.fixture
async def other_tenant(app: FastAPI) -> Tenant:
    return await make_tenant(app)
