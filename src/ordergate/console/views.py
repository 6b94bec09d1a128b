"""What every console page shares: the templates, the page response with its security
headers, the form reader, and the route class that turns errors into pages.

Pages are rendered on the server from Jinja2 templates (autoescaped). Every asset comes from
``/console/static``; the Content-Security-Policy allows nothing else, no inline script.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote

import jinja2
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute

from ordergate.console.session import Operator, SignInRequired
from ordergate.errors import BadRequest, OrdergateError, UnsupportedMediaType
from ordergate.settings import Settings
from ordergate.web import read_body

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
)

_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    # Pages show customer data: never kept by the browser or a proxy.
    "Cache-Control": "no-store",
}


def _when(value: str | dt.datetime | None) -> str:
    """A time as operators read it: UTC, to the second."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


_env.filters["when"] = _when
_env.filters["urlquote"] = lambda value: quote(str(value), safe="")


def page(
    request: Request,
    template: str,
    operator: Operator | None,
    *,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    html = _env.get_template(template).render(
        request=request,
        operator=operator,
        path=request.url.path,
        flash=request.query_params.get("done"),
        **context,
    )
    return HTMLResponse(html, status_code=status_code, headers=_HEADERS)


def fragment(template: str, **context: Any) -> HTMLResponse:
    """A piece of a page, for the live parts (fetched by console.js)."""
    return HTMLResponse(_env.get_template(template).render(**context), headers=_HEADERS)


def see_other(url: str) -> RedirectResponse:
    """The answer to a form: 303, so that reloading the next page does not post again."""
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


async def read_form(request: Request) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body (the only kind the console's forms send),
    within the usual body limit."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/x-www-form-urlencoded":
        raise UnsupportedMediaType("Expected a form (application/x-www-form-urlencoded)")
    settings: Settings = request.app.state.settings
    body = await read_body(request, settings.max_body_bytes)
    try:
        return dict(parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=False))
    except UnicodeDecodeError:
        raise BadRequest("The form is not UTF-8") from None


class ConsoleRoute(APIRoute):
    """Errors in console routes become pages (the API's problem+json would mean nothing to
    an operator): no session → the sign-in page; an OrdergateError → an error page with its
    status; a malformed path or query → 404 or 400."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def console_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired:
                if request.method == "GET":
                    target = request.url.path
                    if request.url.query:
                        target += "?" + request.url.query
                    return see_other("/console/sign-in?next=" + quote(target, safe=""))
                return _error_page(request, 403, "Sign in again: your session has ended.")
            except OrdergateError as exc:
                return _error_page(request, exc.status, exc.detail)
            except RequestValidationError as exc:
                if all(e["loc"][0] == "path" for e in exc.errors()):
                    return _error_page(request, 404, "There is nothing here.")
                return _error_page(request, 400, "The address has a parameter that is not valid.")

        return console_handler


def _error_page(request: Request, status: int, message: str) -> HTMLResponse:
    return page(request, "error.html", None, status_code=status, status=status, message=message)
