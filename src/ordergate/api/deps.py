"""Request dependencies shared by the /v1 routers and the dialects.

They are ``async def`` on purpose: FastAPI runs a plain ``def`` dependency in its thread pool,
which would cost a thread hand-off per dependency per request on the hot path.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ordergate.db import Database
from ordergate.intake.coalescer import CreateCoalescer
from ordergate.settings import Settings


async def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def get_intake(request: Request) -> CreateCoalescer:
    intake: CreateCoalescer = request.app.state.intake
    return intake


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


# Routes open their transaction with ``async with db.write() as conn`` *after* the body has
# been parsed and validated: on SQLite there is one writer, and holding it while validating
# would serialise validation too. The block commits before the response is sent, so a 2xx
# always means the change is durable.
Db = Annotated[Database, Depends(get_db)]
Intake = Annotated[CreateCoalescer, Depends(get_intake)]
AppSettings = Annotated[Settings, Depends(get_settings)]
