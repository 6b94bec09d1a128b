"""A database of its own for each dispatcher test.

A dispatcher serves every organisation in its database, so its tests cannot share the
session's databases with tests that register endpoints nobody is listening on. Each test gets
a copy of a migrated template: a file copy on SQLite, ``CREATE DATABASE … TEMPLATE`` on
PostgreSQL (both well under a second).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from ordergate import db as dbm
from tests.conftest import _pg_url, create_pg_database, drop_pg_database


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
