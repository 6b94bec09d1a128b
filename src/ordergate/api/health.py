"""Liveness and readiness probes (no credentials)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ordergate import metrics
from ordergate.api.deps import Db
from ordergate.errors import OrdergateError
from ordergate.events import deliveries
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


@router.get(
    "/metrics",
    summary="Prometheus metrics of this process (and the webhook queue depth)",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}},
)
async def prometheus_metrics(db: Db) -> Response:
    try:
        async with db.read() as conn:
            metrics.WEBHOOK_QUEUE_DEPTH.set(await deliveries.queue_depth(conn))
    except Exception:  # the other metrics are still worth serving
        metrics.WEBHOOK_QUEUE_DEPTH.set(float("nan"))
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
