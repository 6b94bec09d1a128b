"""``GET /v1/events``: the organisation's event feed, oldest first, for pollers."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from ordergate.api.deps import Db
from ordergate.api.openapi import problems
from ordergate.events import outbox
from ordergate.tenancy.auth import OrdersRead
from ordergate.web import json_response, parameter_error

router = APIRouter(prefix="/v1/events", tags=["events"])


def _encode(position: tuple[int, int]) -> str:
    return base64.urlsafe_b64encode(f"{position[0]}.{position[1]}".encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[int, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        txid, _, event_id = raw.partition(".")
        position = (int(txid), int(event_id))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise parameter_error("after", "invalid_cursor", "Not a cursor from this feed") from None
    if position[0] < 0 or position[1] < 0:
        raise parameter_error("after", "invalid_cursor", "Not a cursor from this feed")
    return position


class EventOut(BaseModel):
    id: int = Field(description="Unique within the organisation")
    seq: int = Field(description="Per order: 1, 2, 3, … (the order's version after the change)")
    type: str = Field(examples=["order.created"])
    order_id: str | None
    occurred_at: str
    data: dict[str, Any] = Field(description="The order as it was after the change")


class EventPage(BaseModel):
    data: list[EventOut]
    next_cursor: str | None = Field(
        description="Pass as `after` for the next events; repeat it to poll for new ones"
    )


@router.get(
    "",
    summary="The event feed, oldest first",
    description=(
        "Poll with `after` = the `next_cursor` of the previous answer. Every event is seen "
        "exactly once and in commit order, even while writers are active: an event appears "
        "once no transaction that started before it is still running."
    ),
    responses={200: {"model": EventPage}, **problems(400)},
)
async def event_feed(
    principal: OrdersRead,
    db: Db,
    after: Annotated[str | None, Query(max_length=128)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    position = _decode(after) if after else None
    async with db.read() as conn:
        page = await outbox.feed(conn, principal.organisation_id, position, limit)
    next_cursor = _encode(page[-1][0]) if page else after
    return json_response({"data": [event for _, event in page], "next_cursor": next_cursor})
