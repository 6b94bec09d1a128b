"""Console pages about NDJSON imports: the list, and one import's progress and line errors.

The progress part of an import's page is also served alone (``…/progress``); console.js
fetches it every second while the import runs and swaps it in, so the counts move without a
reload. Each is one query by primary key.
"""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Request, Response

from ordergate.console.session import SignedIn
from ordergate.console.views import ConsoleRoute, fragment, page
from ordergate.db import Database
from ordergate.intake import imports

router = APIRouter(prefix="/console/imports", route_class=ConsoleRoute)

PAGE_SIZE = 50
RUNNING = ("receiving", "queued", "running")


def _before(request: Request) -> UUID | None:
    try:
        return UUID(request.query_params.get("before", ""))
    except ValueError:
        return None


@router.get("")
async def import_list(request: Request, operator: SignedIn) -> Response:
    db: Database = request.app.state.db
    async with db.read() as conn:
        rows, more = await imports.list_page(
            conn, operator.principal.organisation_id, before=_before(request), limit=PAGE_SIZE
        )
    return page(request, "imports.html", operator, imports=rows, more=more, running=RUNNING)


async def _import(request: Request, operator: SignedIn, import_id: UUID) -> dict[str, object]:
    db: Database = request.app.state.db
    async with db.read() as conn:
        row = await imports.get_row(conn, operator.principal.organisation_id, import_id)
    return imports.render(row)


@router.get("/{import_id}")
async def import_page(import_id: UUID, request: Request, operator: SignedIn) -> Response:
    job = await _import(request, operator, import_id)
    return page(request, "import.html", operator, job=job, running=RUNNING)


@router.get("/{import_id}/progress")
async def import_progress(import_id: UUID, request: Request, operator: SignedIn) -> Response:
    job = await _import(request, operator, import_id)
    return fragment("_import_progress.html", job=job, running=RUNNING)
