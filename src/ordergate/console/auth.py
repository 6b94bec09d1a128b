"""Sign-in and sign-out. An operator signs in with an API key that has ``orders:read``; the
key's other scopes decide which actions the console offers (see ``session``)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from ordergate.console import session
from ordergate.console.session import SignInRequired
from ordergate.console.views import ConsoleRoute, page, read_form, see_other
from ordergate.db import Database

router = APIRouter(prefix="/console", route_class=ConsoleRoute)


def _next(value: str) -> str:
    """Where to go after signing in: a console page of this site, never another site."""
    if value.startswith("/console") and not value.startswith("//") and "\\" not in value:
        return value
    return "/console"


def _form(request: Request, *, next_url: str, error: str | None, status: int) -> Response:
    nonce = session.sign_in_nonce(request)
    response = page(
        request,
        "sign_in.html",
        None,
        status_code=status,
        next_url=next_url,
        error=error,
        nonce=nonce,
    )
    session.keep_sign_in_nonce(request, response, nonce)
    return response


@router.get("/sign-in")
async def sign_in_page(request: Request) -> Response:
    return _form(
        request, next_url=_next(request.query_params.get("next", "")), error=None, status=200
    )


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    form = await read_form(request)
    session.check_sign_in_nonce(request, form.get("csrf_token", ""))
    next_url = _next(form.get("next", ""))
    db: Database = request.app.state.db
    key = await session.verify_token(db, form.get("api_key", ""))
    if key is None:
        return _form(request, next_url=next_url, error="That API key is not valid.", status=401)
    if session.READ_SCOPE not in key.scopes:
        error = f"That API key lacks the scope {session.READ_SCOPE}, which the console needs."
        return _form(request, next_url=next_url, error=error, status=403)
    response = see_other(next_url)
    await session.start(request, response, key)
    return response


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    form = await read_form(request)
    try:
        operator = await session.current(request)
    except SignInRequired:
        operator = None
    if operator is not None:
        session.check_csrf(operator, form.get("csrf_token", ""))
    response = see_other("/console/sign-in")
    session.end(request, response)
    return response
