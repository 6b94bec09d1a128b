"""The dashboard: orders per day (an SVG chart), intake by front door, and the webhook
failure rate.

Figures are counted per day, each day by one range scan of an index over that day only
(orders: (organisation_id, created_at); deliveries: their UUIDv7 primary key), so the cost
follows the window, never the size of the tables. A process keeps a day's figures for a
while: past days for ten minutes (they change only when deliveries settle), today for 15 s.
The first view after that costs 2 queries per day of the window; later views, 2 in all.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from uuid import UUID

from fastapi import APIRouter, Request, Response

from ordergate.console.charts import bar_chart
from ordergate.console.session import SignedIn
from ordergate.console.views import ConsoleRoute, page
from ordergate.db import Database
from ordergate.events import deliveries
from ordergate.orders import store

router = APIRouter(prefix="/console", route_class=ConsoleRoute)

CHART_DAYS = 14  # orders per day
MIX_DAYS = 7  # intake by front door, webhook failure rate
TODAY_SECONDS, PAST_SECONDS = 15.0, 600.0


@dataclass(frozen=True, slots=True)
class DayFigures:
    day: dt.date
    orders_by_via: dict[str, int]
    deliveries_by_status: dict[str, int]


_cache: dict[tuple[UUID, dt.date], tuple[float, DayFigures]] = {}


async def _figures(db: Database, org_id: UUID, days: list[dt.date]) -> list[DayFigures]:
    now = time.monotonic()
    today = days[-1]
    out: dict[dt.date, DayFigures] = {}
    missing = []
    for day in days:
        hit = _cache.get((org_id, day))
        if hit is not None and hit[0] > now:
            out[day] = hit[1]
        else:
            missing.append(day)
    if missing:
        async with db.read() as conn:
            for day in missing:
                start = dt.datetime.combine(day, dt.time(), dt.UTC)
                end = start + dt.timedelta(days=1)
                out[day] = DayFigures(
                    day,
                    await store.count_by_via(conn, org_id, start, end),
                    await deliveries.count_by_status(conn, org_id, start, end),
                )
        if len(_cache) > 50_000:  # many organisations: start again rather than grow
            _cache.clear()
        for day in missing:
            ttl = TODAY_SECONDS if day == today else PAST_SECONDS
            _cache[(org_id, day)] = (now + ttl, out[day])
    return [out[day] for day in days]


@router.get("")
async def dashboard(request: Request, operator: SignedIn) -> Response:
    db: Database = request.app.state.db
    today = dt.datetime.now(dt.UTC).date()
    days = [today - dt.timedelta(days=n) for n in range(CHART_DAYS - 1, -1, -1)]
    figures = await _figures(db, operator.principal.organisation_id, days)
    per_day = [(f.day.strftime("%d %b"), sum(f.orders_by_via.values())) for f in figures]
    by_via: dict[str, int] = {}
    by_status: dict[str, int] = {}
    for f in figures[-MIX_DAYS:]:
        for via, n in f.orders_by_via.items():
            by_via[via] = by_via.get(via, 0) + n
        for status, n in f.deliveries_by_status.items():
            by_status[status] = by_status.get(status, 0) + n
    settled = by_status.get(deliveries.SUCCEEDED, 0) + by_status.get(deliveries.FAILED, 0)
    failure_rate = by_status.get(deliveries.FAILED, 0) / settled if settled else None
    return page(
        request,
        "dashboard.html",
        operator,
        chart=bar_chart(f"Orders per day, last {CHART_DAYS} days (UTC)", per_day),
        per_day=per_day,
        by_via=sorted(by_via.items(), key=lambda kv: -kv[1]),
        intake_total=sum(by_via.values()),
        by_status=by_status,
        failure_rate=failure_rate,
        chart_days=CHART_DAYS,
        mix_days=MIX_DAYS,
    )
