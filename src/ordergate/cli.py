"""The ``ordergate`` command. Thin: parse arguments, call services, print.

Every command builds one :class:`Settings` from the environment and opens its own
transaction; the database is migrated first where a command needs the schema.
"""

from __future__ import annotations

import asyncio
import json
import logging
import logging.config
import math
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncConnection

from ordergate import db as dbm
from ordergate.errors import OrdergateError
from ordergate.settings import Settings
from ordergate.tenancy import service as tenancy

app = typer.Typer(
    help="ordergate: order intake and order management service.",
    no_args_is_help=True,
    add_completion=False,
)
org_app = typer.Typer(help="Organisations.", no_args_is_help=True)
key_app = typer.Typer(help="API keys.", no_args_is_help=True)
app.add_typer(org_app, name="org")
app.add_typer(key_app, name="key")

T = TypeVar("T")
JsonFlag = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


def _settings() -> Settings:
    return Settings()


def _run_in_transaction(fn: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    settings = _settings()

    async def main() -> T:
        await dbm.migrate(settings.database_url)
        database = dbm.Database(settings.database_url, pool_size=1)
        try:
            async with database.write() as conn:
                return await fn(conn)
        finally:
            await database.dispose()

    try:
        return asyncio.run(main())
    except OrdergateError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        for e in getattr(exc, "errors", []):
            typer.echo(f"  {e.pointer}: {e.detail}", err=True)
        raise typer.Exit(1) from None


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2))


DRIVER_LOGGERS = ("aiosqlite", "sqlalchemy", "asyncpg")


def _configure_logging(settings: Settings) -> dict[str, Any]:
    """Logging for the server; returns uvicorn's log config so both use one format."""
    level = settings.log_level.upper()
    formatter: dict[str, Any] = (
        {"()": "ordergate.logs.JsonFormatter"}
        if settings.log_format == "json"
        else {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    )
    config: dict[str, Any] = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "ordergate": {"handlers": ["default"], "level": level, "propagate": False},
            "uvicorn": {"handlers": ["default"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            # Access logs carry query strings but never headers, so no credentials.
            "uvicorn.access": {"handlers": ["default"], "level": level, "propagate": False},
            # Database drivers log statements with their parameters at DEBUG (webhook
            # secrets, customers' data): never below WARNING, whatever the level.
            **{name: {"level": "WARNING"} for name in DRIVER_LOGGERS},
        },
    }
    logging.config.dictConfig(config)
    return config


async def _bootstrap_demo(conn: AsyncConnection) -> tenancy.NewKey | None:
    """On a database with no organisation, create DEMO and a key for it."""
    if await tenancy.list_organisations(conn):
        return None
    await tenancy.create_organisation(conn, "DEMO", "Demo organisation")
    return await tenancy.create_key(conn, "DEMO")


def _print_demo(new: tenancy.NewKey | None, host: str, port: int) -> None:
    base = f"http://{host}:{port}"
    if new is None:
        typer.echo(
            "The database already has organisations. Create a key with:\n"
            "  ordergate key create DEMO\n"
        )
        return
    typer.echo(
        "Created the demo organisation DEMO with an API key (shown only now):\n\n"
        f"  ORDERGATE_TOKEN={new.token}\n\n"
        "Try it:\n\n"
        f"  curl -s -X POST {base}/v1/orders \\\n"
        f'    -H "Authorization: Bearer {new.token}" \\\n'
        '    -H "Content-Type: application/json" \\\n'
        """    -d '{"order_ref": "DEMO-1", "customer": {"email": "ada@example.com"}, """
        """"items": [{"sku": "TEA-1", "quantity": 2, "unit_price": "4.50"}], """
        """"currency": "GBP"}'\n"""
    )


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.", min=1, max=65535)] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes.", min=1, max=64)] = None,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo", help="On a fresh database, create organisation DEMO and print a token."
        ),
    ] = False,
) -> None:
    """Migrate the database if needed and serve HTTP."""
    import uvicorn

    settings = _settings()
    host = host if host is not None else settings.host
    port = port if port is not None else settings.port
    workers = workers if workers is not None else settings.workers
    log_config = _configure_logging(settings)
    dbm.migrate_sync(settings.database_url)
    if demo:
        _print_demo(_run_in_transaction(_bootstrap_demo), host, port)
    # Workers build their Settings from the same environment; make CLI overrides visible.
    os.environ["ORDERGATE_HOST"] = host
    os.environ["ORDERGATE_PORT"] = str(port)
    typer.echo(f"ordergate serving on http://{host}:{port} ({workers} worker(s))", err=True)
    uvicorn.run(
        "ordergate.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=log_config,
        proxy_headers=False,
        server_header=False,
        # SIGTERM: requests in flight get this long; then the lifespan stops the background
        # jobs (each gives back what it holds; see docs/operations.md).
        timeout_graceful_shutdown=math.ceil(settings.shutdown_grace_seconds),
    )


@app.command()
def worker(
    metrics_port: Annotated[
        int | None,
        typer.Option(help="Serve Prometheus metrics on this port (0.0.0.0).", min=1, max=65535),
    ] = None,
) -> None:
    """Run the background jobs only: webhook deliveries and imports, until stopped."""
    import signal

    from ordergate.events.dispatcher import Dispatcher
    from ordergate.intake import imports
    from ordergate.intake.runner import ImportRunner

    settings = _settings()
    _configure_logging(settings)
    dbm.migrate_sync(settings.database_url)
    if metrics_port is not None:
        from prometheus_client import start_http_server

        start_http_server(metrics_port)

    async def main() -> None:
        database = dbm.Database(settings.database_url, pool_size=min(settings.db_pool_size, 4))
        jobs: list[Dispatcher | ImportRunner] = [
            Dispatcher(database, settings),
            ImportRunner(database, settings),
        ]
        loop = asyncio.get_running_loop()

        def stop_all() -> None:
            for job in jobs:
                job.stop()

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop_all)
        try:
            await asyncio.gather(*(job.run() for job in jobs))
        finally:
            imports.shutdown_pool()
            await database.dispose()

    typer.echo("ordergate worker: delivering webhooks, running imports (Ctrl-C stops)", err=True)
    asyncio.run(main())


@app.command("import")
def import_orders(
    file: Annotated[
        str, typer.Argument(help="NDJSON file, one canonical order per line; - for stdin.")
    ],
    org: Annotated[str, typer.Option("--org", help="The organisation's TRKREF or number.")],
    mode: Annotated[
        str, typer.Option(help="create (like POST /v1/orders) or upsert (like PUT by ref).")
    ] = "create",
    as_json: JsonFlag = False,
) -> None:
    """Import orders from NDJSON with a progress bar; exits 1 if any line failed."""
    from ordergate.intake import cli_import

    if mode not in ("create", "upsert"):
        typer.echo("error: --mode is create or upsert", err=True)
        raise typer.Exit(2)
    settings = _settings()
    try:
        stream = sys.stdin.buffer if file == "-" else open(file, "rb")  # noqa: SIM115
        size = None if file == "-" else os.fstat(stream.fileno()).st_size
    except OSError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    dbm.migrate_sync(settings.database_url)
    try:
        summary = asyncio.run(cli_import.run(settings, stream, size, org, mode, quiet=as_json))
    except OrdergateError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from None
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    if as_json:
        _print_json(summary)
    else:
        cli_import.print_summary(summary)
    if summary["conflicts"] or summary["invalid"]:
        raise typer.Exit(1)


@app.command()
def migrate() -> None:
    """Apply database migrations."""
    settings = _settings()
    dbm.migrate_sync(settings.database_url)
    typer.echo("database is up to date")


@org_app.command("create")
def org_create(
    trkref: Annotated[str, typer.Argument(help="Organisation reference, e.g. ACME-UK.")],
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Create an organisation."""
    org = _run_in_transaction(lambda conn: tenancy.create_organisation(conn, trkref, name))
    if as_json:
        _print_json(_org_json(org))
    else:
        typer.echo(f"created organisation {org.trkref} (number {org.number}, id {org.id})")


def _org_json(org: tenancy.Organisation) -> dict[str, Any]:
    return {
        "id": str(org.id),
        "number": org.number,
        "trkref": org.trkref,
        "name": org.name,
        "created_at": org.created_at.isoformat(),
    }


@org_app.command("list")
def org_list(as_json: JsonFlag = False) -> None:
    """List organisations."""
    orgs = _run_in_transaction(tenancy.list_organisations)
    if as_json:
        _print_json([_org_json(o) for o in orgs])
        return
    for o in orgs:
        typer.echo(f"{o.number:>6}  {o.trkref:<24} {o.name}")


@key_app.command("create")
def key_create(
    trkref: Annotated[str, typer.Argument(help="The organisation's TRKREF or number.")],
    scope: Annotated[
        list[str] | None,
        typer.Option(help=f"Repeatable; one of {', '.join(tenancy.SCOPES)}. Default: all."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Create an API key; the secret is printed once and only its hash is stored."""
    new = _run_in_transaction(lambda conn: tenancy.create_key(conn, trkref, scope))
    if as_json:
        _print_json(
            {
                "key_id": new.key_id,
                "secret": new.secret,
                "token": new.token,
                "organisation": new.organisation.trkref,
                "scopes": list(new.scopes),
            }
        )
        return
    typer.echo(f"key id:  {new.key_id}")
    typer.echo(f"scopes:  {' '.join(new.scopes)}")
    typer.echo(f"token:   {new.token}")
    typer.echo("Store the token now: it cannot be shown again.", err=True)


@key_app.command("revoke")
def key_revoke(key_id: Annotated[str, typer.Argument(help="The key id (ogk_…).")]) -> None:
    """Revoke an API key (every process stops accepting it within a second)."""
    _run_in_transaction(lambda conn: tenancy.revoke_key(conn, key_id))
    typer.echo(f"revoked {key_id}")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
