"""Liveness and readiness probes (no credentials)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ordergate.api.deps import Db
from ordergate.errors import OrdergateError
from ordergate.web import JSONResponse

router = APIRouter(tags=["operations"])


class NotReady(OrdergateError):
    status = 503
    code = "not_ready"
    title = "Not ready"


@router.get("/healthz", summary="Liveness: the process is serving")
async def healthz() -> dict[str, Any]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness: the database answers",
    responses={503: {"description": "The database is unreachable"}},
    response_class=JSONResponse,
)
async def readyz(db: Db) -> dict[str, Any]:
    try:
        await db.ping()
    except Exception as exc:  # any driver error means "not ready"; its text is not shown
        raise NotReady("The database is not reachable") from exc
    return {"status": "ready"}
