"""Database access: engines per URL, the per-request transaction, and the few places where
SQLite and PostgreSQL differ (upsert, counters, JSON), each behind one small helper.

Services and stores receive an ``AsyncConnection`` that is already inside a transaction and
never commit: the edge (a request dependency or a CLI command) owns the transaction.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import orjson
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from ordergate.groupcommit import GroupCommitWriter

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# On PostgreSQL these foreign keys are not constraints but statement-level triggers that check
# all the rows of an INSERT or COPY at once (migration 0010: per-row checks were 40% of
# PostgreSQL's CPU per imported order). The table definitions keep them, for SQLite and for
# reading; schema comparisons on PostgreSQL leave them out (``compared``).
CHECKED_PER_STATEMENT = frozenset(
    {
        "fk_order_items_organisation_id_orders",
        "fk_order_tags_organisation_id_orders",
        "fk_order_history_organisation_id_orders",
        "fk_orders_organisation_id_organisations",
        "fk_events_organisation_id_organisations",
    }
)


def compared(dialect: str) -> Callable[..., bool]:
    """Alembic's ``include_object`` for a database of ``dialect``: what a comparison of the
    schema with the table definitions looks at."""

    def include(obj: Any, name: str | None, type_: str, reflected: bool, other: Any) -> bool:
        return not (
            dialect == "postgresql"
            and type_ == "foreign_key_constraint"
            and name in CHECKED_PER_STATEMENT
        )

    return include


# Money is stored as an integer count of 1/10,000ths: exact on both engines (SQLite has no
# decimal type), comparable in SQL, and finer than any ISO 4217 currency's minor unit.
MONEY_SCALE = 4
_MONEY_FACTOR = Decimal(10) ** MONEY_SCALE


class Money(sa.types.TypeDecorator[Decimal]):
    impl = sa.BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> int | None:
        return None if value is None else int(value * _MONEY_FACTOR)

    def process_result_value(self, value: int | None, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value) / _MONEY_FACTOR


class UtcDateTime(sa.types.TypeDecorator[dt.datetime]):
    """An aware UTC datetime on both engines (SQLite keeps naive text, PostgreSQL timestamptz)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # pragma: no cover - depends on the driver's converters
            value = dt.datetime.fromisoformat(value)
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)  # type: ignore[no-any-return]
        return value.astimezone(dt.UTC)  # type: ignore[no-any-return]


def json_type() -> sa.types.TypeEngine[Any]:
    """JSON on both engines. On PostgreSQL plain ``json``, not ``jsonb``: documents keep their
    key order (responses read the same on both engines) and insert without conversion; the
    ``->`` operators still work for ad-hoc queries."""
    return sa.JSON()


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def sqlite_path(url: str) -> Path | None:
    u = make_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    return Path(u.database)


def _engine(url: str, *, pool_size: int, immediate: bool = False) -> AsyncEngine:
    common: dict[str, Any] = {"json_serializer": _json_dumps, "json_deserializer": orjson.loads}
    if not is_sqlite(url):
        # No overflow: connections beyond the pool would be closed when returned, and under
        # load that means connecting again (and asyncpg's type introspection) over and over.
        # Requests wait for a pooled connection instead.
        return create_async_engine(
            url, pool_size=pool_size, max_overflow=0, pool_pre_ping=False, **common
        )
    engine = create_async_engine(url, pool_size=pool_size, max_overflow=0, **common)

    # pysqlite's own transaction handling is bypassed so that we choose BEGIN's kind:
    # writers take the write lock up front (BEGIN IMMEDIATE) instead of failing to upgrade a
    # read lock under contention; readers use a deferred BEGIN for a consistent WAL snapshot.
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        # FULL: a 2xx means the order survives a power cut, not only a process crash.
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class Database:
    """The engines of one database URL.

    On PostgreSQL readers and writers share one pool; every write block is its own
    transaction (PostgreSQL groups concurrent commits into one WAL flush by itself). On SQLite,
    which allows one writer at a time, this process's write blocks go through one connection
    and are committed in groups (see ``groupcommit``); reads use their own pool.
    """

    def __init__(self, url: str, *, pool_size: int = 20) -> None:
        self.url = url
        self.is_sqlite = is_sqlite(url)
        if self.is_sqlite:
            path = sqlite_path(url)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
            self.write_engine = _engine(url, pool_size=1, immediate=True)
            self.read_engine = _engine(url, pool_size=min(pool_size, 8))
            self._writer: GroupCommitWriter | None = GroupCommitWriter(self.write_engine)
        else:
            self.write_engine = _engine(url, pool_size=pool_size)
            self.read_engine = self.write_engine
            self._writer = None

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction: committed (durably) when the block ends, before the caller
        continues; rolled back if the block raises."""
        if self._writer is not None:
            async with self._writer.transaction() as conn:
                yield conn
            return
        async with self.write_engine.begin() as conn:
            yield conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads that each need one statement.

        On PostgreSQL it runs in autocommit: a lone SELECT needs no BEGIN and COMMIT around it
        (two round trips saved per read); each statement sees its own snapshot, so a block that
        needs several statements to agree uses ``write()``. SQLite's deferred BEGIN costs no
        round trip and gives the block one WAL snapshot.
        """
        if self.is_sqlite:
            async with self.read_engine.begin() as conn:
                yield conn
            return
        async with self.read_engine.connect() as conn:
            yield await conn.execution_options(isolation_level="AUTOCOMMIT")

    async def ping(self) -> None:
        async with self.read_engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    async def dispose(self) -> None:
        if self._writer is not None:
            await self._writer.close()
        await self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            await self.read_engine.dispose()


# --- dialect-aware helpers -------------------------------------------------------------------


def insert_ignoring_conflicts(
    conn: AsyncConnection, table: sa.Table, index_elements: Sequence[str]
) -> Any:
    """``INSERT … ON CONFLICT (cols) DO NOTHING`` for the connection's engine."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=index_elements)
    return sqlite.insert(table).on_conflict_do_nothing(index_elements=index_elements)


counters = sa.Table(
    "counters",
    metadata,
    sa.Column("organisation_id", sa.Uuid, primary_key=True),
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)


def _sequence_name(organisation_id: UUID, name: str) -> str:
    return f"og_{name}_{organisation_id.hex}"


async def create_counter(conn: AsyncConnection, organisation_id: UUID, name: str) -> None:
    """A per-organisation counter whose first value is 1.

    PostgreSQL uses a real sequence: ``nextval`` takes no row lock, so concurrent intake for one
    organisation is not serialised on a counter row. Gaps appear when a transaction rolls back
    or loses a race to insert the same new order_ref. SQLite has one writer anyway, so a row in
    ``counters`` is enough (and gap-free).
    """
    if conn.dialect.name == "postgresql":
        await conn.execute(
            sa.text(f'CREATE SEQUENCE IF NOT EXISTS "{_sequence_name(organisation_id, name)}"')
        )
    else:
        await conn.execute(
            insert_ignoring_conflicts(conn, counters, ["organisation_id", "name"]).values(
                organisation_id=organisation_id, name=name, value=0
            )
        )


def next_value_sql(
    conn: AsyncConnection, organisation_id: UUID, name: str
) -> sa.ColumnElement[int] | None:
    """The counter's next value as an expression to use inside an INSERT (PostgreSQL: one
    round trip fewer than :func:`take_numbers`), or None where that is not possible."""
    if conn.dialect.name == "postgresql":
        return sa.func.nextval(_sequence_name(organisation_id, name))
    return None


async def take_numbers(
    conn: AsyncConnection, organisation_id: UUID, name: str, count: int = 1
) -> list[int]:
    """The next ``count`` values of a counter made by :func:`create_counter`."""
    if conn.dialect.name == "postgresql":
        seq = _sequence_name(organisation_id, name)
        rows = await conn.execute(
            sa.text(f"SELECT nextval('\"{seq}\"') FROM generate_series(1, :n)"), {"n": count}
        )
        return [r[0] for r in rows]
    last = await conn.scalar(
        sa.update(counters)
        .where(counters.c.organisation_id == organisation_id, counters.c.name == name)
        .values(value=counters.c.value + count)
        .returning(counters.c.value)
    )
    if last is None:
        raise LookupError(f"counter {name!r} does not exist")
    return list(range(last - count + 1, last + 1))


# --- migrations ------------------------------------------------------------------------------


def _alembic_config() -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    return cfg


async def migrate(url: str) -> None:
    """Bring the database at ``url`` to the newest schema (Alembic ``upgrade head``)."""
    from alembic import command

    cfg = _alembic_config()
    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url)

    def _upgrade(sync_conn: sa.Connection) -> None:
        cfg.attributes["connection"] = sync_conn
        command.upgrade(cfg, "head")

    try:
        async with engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                await conn.exec_driver_sql("PRAGMA journal_mode=WAL")
            await conn.run_sync(_upgrade)
    finally:
        await engine.dispose()


def migrate_sync(url: str) -> None:
    asyncio.run(migrate(url))
