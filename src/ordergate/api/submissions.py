"""``/v1/submissions/{id}``: what happened to one intake request."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from ordergate.api.deps import Db
from ordergate.api.openapi import problems
from ordergate.errors import NotFound
from ordergate.intake import submissions
from ordergate.tenancy.auth import OrdersRead
from ordergate.web import json_response

router = APIRouter(prefix="/v1/submissions", tags=["submissions"])


class SubmissionOut(BaseModel):
    id: str = Field(description="The id returned in the Submission-Id header (or by a dialect)")
    received_at: str
    key_id: str
    dialect: str = Field(description="api, or the dialect the request came through")
    method: str
    path: str
    status_code: int
    outcome: str = Field(
        description="created, existing, updated, unchanged, conflict, invalid or rejected"
    )
    order_ids: list[str]
    errors: list[dict[str, Any]] | None
    body: str | None = Field(description="The request body as received")


@router.get(
    "/{submission_id}",
    summary="One intake request: when, through which door, its outcome and its body",
    responses={200: {"model": SubmissionOut}, **problems(404)},
)
async def get_submission(submission_id: UUID, principal: OrdersRead, db: Db) -> Response:
    async with db.read() as conn:
        found = await submissions.get(conn, principal.organisation_id, submission_id)
    if found is None:
        raise NotFound(f"No submission {submission_id}")
    return json_response(found)
