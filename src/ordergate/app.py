"""``create_app(settings)``: the FastAPI application with its routers, error handlers and
lifespan (engines are created when the app starts, never at import)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Receive, Scope, Send

from ordergate import __version__, console
from ordergate.api import batch as batch_api
from ordergate.api import dropday as dropday_api
from ordergate.api import events as events_api
from ordergate.api import health, openapi
from ordergate.api import imports as imports_api
from ordergate.api import lifecycle as lifecycle_api
from ordergate.api import orders as orders_api
from ordergate.api import parcellab as parcellab_api
from ordergate.api import pitneybowes as pitneybowes_api
from ordergate.api import reevoo as reevoo_api
from ordergate.api import submissions as submissions_api
from ordergate.api import webhooks as webhooks_api
from ordergate.db import Database
from ordergate.errors import (
    BadRequest,
    FieldError,
    InvalidParameter,
    NotFound,
    OrdergateError,
    Unauthorized,
)
from ordergate.events.dispatcher import Dispatcher
from ordergate.intake import idempotency, imports
from ordergate.intake.coalescer import CreateCoalescer
from ordergate.intake.idempotency import IdempotencyMiddleware
from ordergate.intake.runner import ImportRunner
from ordergate.orders.model import pointer
from ordergate.settings import Settings
from ordergate.tenancy.auth import Authenticator
from ordergate.tenancy.ratelimit import RateLimiter
from ordergate.web import BodyDeadline, problem_response

log = logging.getLogger("ordergate")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(settings.database_url, pool_size=settings.db_pool_size)
        app.state.db = db
        app.state.authenticator = Authenticator(db, settings.auth_cache_seconds)
        app.state.intake = CreateCoalescer(db)
        app.state.rate_limiter = RateLimiter(settings.rate_limit, settings.redis_url)
        purger = asyncio.create_task(
            idempotency.purge_periodically(db, settings.idempotency_purge_seconds)
        )
        background: list[Dispatcher | ImportRunner] = []
        if settings.run_dispatcher:
            app.state.import_runner = ImportRunner(db, settings)
            background = [Dispatcher(db, settings), app.state.import_runner]
        tasks = [asyncio.create_task(job.run()) for job in background]
        try:
            yield
        finally:
            # Each job gives back what it holds (deliveries cut short, the import it runs), so
            # that another process takes them over at once rather than when leases expire.
            for job in background:
                job.stop()
            for outcome in await asyncio.gather(*tasks, return_exceptions=True):
                if isinstance(outcome, BaseException):
                    log.error("a background job failed while stopping", exc_info=outcome)
            imports.shutdown_pool()
            purger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await purger
            await app.state.intake.close()
            app.state.rate_limiter.close()
            await db.dispose()

    app = FastAPI(
        title="ordergate",
        version=__version__,
        description=(
            "Order intake and order management. Canonical API under /v1; "
            "see docs/ for errors, configuration and dialects."
        ),
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.add_middleware(IdempotencyMiddleware)
    app.add_middleware(RejectNul)
    app.add_middleware(
        BodyDeadline,
        total=settings.body_timeout_seconds,
        idle=settings.body_idle_timeout_seconds,
        streaming=frozenset({"/v1/imports"}),
    )
    app.include_router(health.router)
    app.include_router(batch_api.router)
    app.include_router(orders_api.router)
    app.include_router(lifecycle_api.router)
    app.include_router(submissions_api.router)
    app.include_router(imports_api.router)
    app.include_router(events_api.router)
    app.include_router(webhooks_api.router)
    app.include_router(reevoo_api.router)
    app.include_router(dropday_api.router)
    app.include_router(parcellab_api.router)
    app.include_router(pitneybowes_api.router)
    console.mount(app)  # the operator console: HTML pages under /console
    _install_error_handlers(app)
    openapi.install(app)
    return app


class RejectNul:
    """400 for a NUL character in the path or query string, before any route runs: no
    database can store it (PostgreSQL text refuses it) and no identifier contains it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (
            b"%00" in scope.get("raw_path", b"") or b"%00" in scope.get("query_string", b"")
        ):
            error = BadRequest(
                "The path or query contains a NUL character", code="invalid_character"
            )
            await problem_response(error, instance=scope["path"])(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _install_error_handlers(app: FastAPI) -> None:
    async def ordergate_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, OrdergateError)
        response = problem_response(exc, instance=request.url.path)
        if isinstance(exc, Unauthorized):
            response.headers["WWW-Authenticate"] = 'Bearer realm="ordergate"'
        return response

    async def invalid_parameters(request: Request, exc: Exception) -> Response:
        # Body validation is done by the routes themselves (with pointers into the body); what
        # FastAPI validates is the query string, path and headers: a client error, so 400.
        assert isinstance(exc, RequestValidationError)
        if all(e["loc"][0] == "path" for e in exc.errors()):
            # An id that cannot exist names nothing: the same answer as a missing one.
            return problem_response(NotFound("No such resource"), instance=request.url.path)
        errors = [
            FieldError(pointer(e["loc"]), _parameter_code(e["type"]), e["msg"])
            for e in exc.errors()
        ]
        return problem_response(InvalidParameter(errors), instance=request.url.path)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404:
            return problem_response(NotFound("No such route"), instance=request.url.path)
        error = OrdergateError(str(exc.detail))
        error.status = exc.status_code  # type: ignore[misc]
        error.code = "http_error"  # type: ignore[misc]
        error.title = str(exc.detail)  # type: ignore[misc]
        error.headers.update(exc.headers or {})
        if exc.status_code == 405:
            # Starlette names only the first route that matched the path; name them all.
            methods: set[str] = set()
            for route in _api_routes(request.app.router.routes):
                if route.matches(request.scope)[0] != Match.NONE:
                    methods |= route.methods or set()
            error.headers["Allow"] = ", ".join(sorted(methods))
        return problem_response(error, instance=request.url.path)

    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(OrdergateError("An unexpected error occurred"))

    app.add_exception_handler(OrdergateError, ordergate_error)
    app.add_exception_handler(RequestValidationError, invalid_parameters)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)


def _api_routes(routes: Iterable[BaseRoute]) -> Iterator[APIRoute]:
    for route in routes:
        included = getattr(route, "original_router", None)  # FastAPI's include_router wrapper
        if included is not None:
            yield from _api_routes(included.routes)
        elif isinstance(route, APIRoute):
            yield route


def _parameter_code(pydantic_type: str) -> str:
    return {
        "missing": "required",
        "less_than_equal": "out_of_range",
        "greater_than_equal": "out_of_range",
        "string_too_long": "too_long",
        "literal_error": "invalid",
        "uuid_parsing": "invalid_id",
    }.get(pydantic_type, "invalid")
