"""The operator console: server-rendered pages under ``/console`` for support and
operations staff (orders, their history and deliveries, imports, webhooks, a dashboard).

It is another front door onto the same services and stores as ``/v1``: routes parse a
form or a query, call a use case, and render a template. See ``docs/console.md``.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from ordergate.console import auth, dashboard, imports, orders, webhooks
from ordergate.console.views import STATIC_DIR


def mount(app: FastAPI) -> None:
    app.mount("/console/static", StaticFiles(directory=STATIC_DIR), name="console-static")
    for module in (auth, dashboard, orders, imports, webhooks):
        app.include_router(module.router, include_in_schema=False)
