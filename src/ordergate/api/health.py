"""Liveness and readiness probes (no credentials)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from ordergate import metrics
from ordergate.api.deps import Db
from ordergate.errors import OrdergateError
from ordergate.events import deliveries

router = APIRouter(tags=["operations"])


class Probe(BaseModel):
    status: str


_PROBLEM = "#/components/schemas/Problem"


class NotReady(OrdergateError):
    status = 503
    code = "not_ready"
    title = "Not ready"


@router.get(
    "/healthz", summary="Liveness: the process is serving", responses={200: {"model": Probe}}
)
async def healthz() -> dict[str, Any]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness: the database answers",
    responses={
        200: {"model": Probe},
        503: {
            "description": "The database is unreachable",
            "content": {"application/problem+json": {"schema": {"$ref": _PROBLEM}}},
        },
    },
    response_model=None,
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
